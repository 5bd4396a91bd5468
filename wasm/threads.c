// The call block and the parallel loop. The threaded build (SGAS_THREADS: shared memory and atomics)
// runs each big enough launch on the calling thread and a pool of workers (runtime/wasm/threads.ts),
// which wait in worker_main for the next job; the single-threaded build runs everything on the caller.
#include "kernels.h"

static Call call_block;

// Where runtime/wasm/backend.ts writes each launch's buffers and parameters.
__attribute__((export_name("call_block"))) Call *call_block_address(void) { return &call_block; }

#ifdef SGAS_THREADS

// Below this much work (cost units, about one arithmetic operation each) waking the workers costs
// more than it saves; tests lower it to split every launch. A split launch never waits for a worker
// that has not joined it (the caller takes every chunk if need be), so a sleeping worker costs a
// tiny launch nothing but the wake-up call.
static double grain = 15000.0;
// Polls before a waiting thread sleeps (about 0.1–0.2 ms): a sleeping worker wakes tens of
// microseconds late into each launch, and the TypeScript between two launches often outlasts a
// shorter spin. 20,000 polls cost 4–5% of a 2-thread search step against this.
#define SPIN 200000

// One launch at a time. Its fields are written before its lanes are opened, and not again until
// every chunk is done.
static struct {
  i32 generation;
  i32 done;      // chunks finished
  u32 total;     // chunks in the launch
  i32 open;      // a split launch is under way on the caller
  i32 quit;
  Range fn;
  const Call *call;
  u32 chunk, threads;
} job;

// Thread t owns the t-th contiguous share of a launch's items, and takes its chunks first; then it
// helps the others from theirs. Consecutive kernels over the same tensor cut it the same way (items
// are planes, images or elements, in memory order), so each thread mostly reads what it wrote last
// launch, from its own core's cache, instead of the half another core just wrote.
// A lane's cursor holds the launch's generation, its chunk count and the next chunk in one word, and
// a chunk is taken by compare-and-swap on all three: a worker that wakes after its launch ended (its
// generation gone, or its lanes used up) takes nothing, so nobody waits for it. Each lane sits in
// its own cache line: the owner takes from it all the time.
#define MAX_THREADS 64   // runtime/wasm/backend.ts starts no more
static struct { uint64_t cursor; u32 lo, hi; char pad[48]; } lanes[MAX_THREADS] __attribute__((aligned(64)));

static inline uint64_t cursor_of(i32 generation, u32 count, u32 next) {
  return (uint64_t)(u32)generation << 32 | (uint64_t)count << 16 | next;
}

static u32 workers;
static int caller_can_block;
// Set when a worker trapped in a kernel; the backend reads and clears it after the launch.
static i32 failed;
// Whether the caller is inside one of its chunks (a trap there leaves that chunk undone).
static i32 caller_busy;

// workers: how many worker_main loops run; can_block: whether the calling thread may sleep in
// memory.atomic.wait (not a browser's main thread, which must spin); min_work: the grain, if > 0.
__attribute__((export_name("threads_init"))) void threads_init(u32 count, int can_block, double min_work) {
  workers = count;
  caller_can_block = can_block;
  if (min_work > 0) grain = min_work;
}

// Takes lane t's next chunk of launch `generation`: its first item, or -1 once there is none.
static int64_t take(u32 t, i32 generation) {
  uint64_t seen = __atomic_load_n(&lanes[t].cursor, __ATOMIC_SEQ_CST);
  for (;;) {
    u32 next = (u32)seen & 0xffff, count = (u32)(seen >> 16) & 0xffff;
    if ((i32)(seen >> 32) != generation || next >= count) return -1;
    if (__atomic_compare_exchange_n(&lanes[t].cursor, &seen, seen + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      return lanes[t].lo + next * job.chunk;
    }
  }
}

// The total is read first: once the last chunk is counted, the caller may set up the next launch.
static void chunk_done(void) {
  u32 total = job.total;
  if ((u32)__atomic_add_fetch(&job.done, 1, __ATOMIC_SEQ_CST) == total) __builtin_wasm_memory_atomic_notify(&job.done, 1);
}

static void run_chunks(u32 self, i32 generation, i32 *busy) {
  for (u32 k = 0; k < job.threads; k++) {
    u32 t = (self + k) % job.threads;
    for (int64_t lo; (lo = take(t, generation)) >= 0;) {
      *busy = 1;
      job.fn(job.call, (u32)lo, min_u(lanes[t].hi, (u32)lo + job.chunk));
      *busy = 0;
      chunk_done();
    }
  }
}

static void wait_while(i32 *word, i32 value, int can_block) {
  for (int spin = 0; __atomic_load_n(word, __ATOMIC_SEQ_CST) == value; spin++) {
    if (spin > SPIN && can_block) __builtin_wasm_memory_atomic_wait32(word, value, -1);
  }
}

// Until `expected` chunks are done. Only the last chunk of a launch wakes a sleeping caller, so a
// wait for fewer (threads_settle's) must not sleep.
static void wait_done(u32 expected, int can_block) {
  for (i32 seen; (u32)(seen = __atomic_load_n(&job.done, __ATOMIC_SEQ_CST)) != expected;) wait_while(&job.done, seen, can_block);
}

u32 thread_count(void) { return workers + 1; }

void parallel_for(const Call *c, Range fn, u32 items, double cost) {
  if (!items) return;
  u32 threads = workers + 1;
  if (!workers || items < 2 || items * cost < grain) {
    fn(c, 0, items);
    return;
  }
  // About four chunks per thread for balance, none much below the grain.
  u32 chunks = min_u(items, 4 * threads);
  while (chunks > threads && (double)items / chunks * cost < grain / 4) chunks--;
  i32 generation = job.generation + 1;
  job.fn = fn;
  job.call = c;
  job.threads = threads;
  job.chunk = ceil_div_u(items, chunks);
  job.total = 0;
  __atomic_store_n(&job.done, 0, __ATOMIC_SEQ_CST);
  for (u32 t = 0; t < threads; t++) {
    u32 lo = part_start(items, threads, t), hi = part_start(items, threads, t + 1);
    u32 count = ceil_div_u(hi - lo, job.chunk);
    lanes[t].lo = lo;
    lanes[t].hi = hi;
    job.total += count;
    __atomic_store_n(&lanes[t].cursor, cursor_of(generation, count, 0), __ATOMIC_SEQ_CST);
  }
  job.open = 1;
  __atomic_store_n(&job.generation, generation, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&job.generation, workers);
  run_chunks(0, generation, &caller_busy);
  wait_done(job.total, caller_can_block);
  job.open = 0;
}

// A worker's life: wait for the generation to move past `seen`, take what chunks are left (its own
// share first: worker `id`, 1..workers, owns share id); until quit. A worker in a chunk counts as busy.
static i32 worker_busy[MAX_THREADS];

__attribute__((export_name("worker_main"))) void worker_main(i32 seen, u32 id) {
  for (;;) {
    wait_while(&job.generation, seen, 1);
    seen = __atomic_load_n(&job.generation, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&job.quit, __ATOMIC_SEQ_CST)) return;
    run_chunks(id, seen, &worker_busy[id]);
  }
}

// Worker `id`'s kernel trapped (its host catches the trap): count its chunk done, so the caller does
// not wait forever, and flag the launch as failed. Returns the generation to wait past next: the
// failed launch's, read before its chunk is counted, since from then on the caller may start the next.
__attribute__((export_name("worker_failed"))) i32 worker_failed(u32 id) {
  i32 generation = __atomic_load_n(&job.generation, __ATOMIC_SEQ_CST);
  __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
  if (worker_busy[id]) {
    worker_busy[id] = 0;
    chunk_done();
  }
  return generation;
}

// After the caller itself trapped mid-launch: close the lanes, so no chunk is taken any more, and
// wait until the chunks workers took are done (the caller's own trapped one never will be),
// spinning: no last chunk will come to wake it.
__attribute__((export_name("threads_settle"))) void threads_settle(void) {
  if (!job.open) return;
  i32 generation = __atomic_load_n(&job.generation, __ATOMIC_SEQ_CST);
  u32 untaken = 0;
  for (u32 t = 0; t < job.threads; t++) {
    for (int64_t lo; (lo = take(t, generation)) >= 0;) untaken++;
  }
  wait_done(job.total - untaken - (u32)caller_busy, 0);
  caller_busy = 0;
  job.open = 0;
}

__attribute__((export_name("threads_take_failure"))) i32 threads_take_failure(void) {
  return __atomic_exchange_n(&failed, 0, __ATOMIC_SEQ_CST);
}

// Ends every worker_main loop.
__attribute__((export_name("threads_stop"))) void threads_stop(void) {
  __atomic_store_n(&job.quit, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&job.generation, 1, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&job.generation, workers);
  workers = 0;
}

#else

u32 thread_count(void) { return 1; }

void parallel_for(const Call *c, Range fn, u32 items, double cost) {
  (void)cost;
  if (items) fn(c, 0, items);
}

#endif
