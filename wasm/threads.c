// The call block and the parallel loop. The threaded build (SGAS_THREADS: shared memory and atomics)
// runs each big enough launch on the calling thread and a pool of workers (runtime/wasm/threads.ts),
// which wait in worker_main for the next job; the single-threaded build runs everything on the caller.
#include "kernels.h"

static Call call_block;

// Where runtime/wasm/backend.ts writes each launch's buffers and parameters.
__attribute__((export_name("call_block"))) Call *call_block_address(void) { return &call_block; }

#ifdef SGAS_THREADS

// Below this much work (cost units, about one arithmetic operation each) waking the workers costs
// more than it saves; tests lower it to split every launch. 15,000 made the search step's parts at
// 2 threads 5–25% faster, but a split launch waits until a sleeping worker wakes, even when the
// caller has done its chunks: tiny searches, whose workers sleep between launches, took over twice
// as long.
static double grain = 150000.0;
// Polls before a waiting thread sleeps (about 0.1–0.2 ms): a sleeping worker wakes tens of
// microseconds late into each launch, and the TypeScript between two launches often outlasts a
// shorter spin. 20,000 polls cost 4–5% of a 2-thread search step against this.
#define SPIN 200000

// One job at a time; its fields are written before `generation` moves, and not again until every
// worker has counted itself out of `pending`, so a worker never mixes two jobs.
static struct {
  i32 generation;
  i32 pending;
  i32 quit;
  Range fn;
  const Call *call;
  u32 chunk, threads;
} job;

// Thread t owns the t-th contiguous share of a launch's items, and takes its chunks first; then it
// helps the others from theirs. Consecutive kernels over the same tensor cut it the same way (items
// are planes, images or elements, in memory order), so each thread mostly reads what it wrote last
// launch, from its own core's cache, instead of the half another core just wrote. Each lane's cursor
// (a chunk index within the share) sits in its own cache line: the owner takes from it all the time.
#define MAX_THREADS 64   // runtime/wasm/backend.ts starts no more
static struct { i32 next; u32 lo, hi; char pad[52]; } lanes[MAX_THREADS] __attribute__((aligned(64)));

static u32 workers;
static int caller_can_block;
// Set when a worker trapped in a kernel; the backend reads and clears it after the launch.
static i32 failed;

// workers: how many worker_main loops run; can_block: whether the calling thread may sleep in
// memory.atomic.wait (not a browser's main thread, which must spin); min_work: the grain, if > 0.
__attribute__((export_name("threads_init"))) void threads_init(u32 count, int can_block, double min_work) {
  workers = count;
  caller_can_block = can_block;
  if (min_work > 0) grain = min_work;
}

static void run_lane(u32 t) {
  for (;;) {
    u32 lo = lanes[t].lo + (u32)__atomic_fetch_add(&lanes[t].next, 1, __ATOMIC_SEQ_CST) * job.chunk;
    if (lo >= lanes[t].hi) return;
    job.fn(job.call, lo, min_u(lanes[t].hi, lo + job.chunk));
  }
}

static void run_chunks(u32 self) {
  for (u32 k = 0; k < job.threads; k++) run_lane((self + k) % job.threads);
}

static void wait_while(i32 *word, i32 value, int can_block) {
  for (int spin = 0; __atomic_load_n(word, __ATOMIC_SEQ_CST) == value; spin++) {
    if (spin > SPIN && can_block) __builtin_wasm_memory_atomic_wait32(word, value, -1);
  }
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
  job.fn = fn;
  job.call = c;
  job.threads = threads;
  job.chunk = ceil_div_u(items, chunks);
  for (u32 t = 0; t < threads; t++) {
    lanes[t].lo = (u32)((uint64_t)items * t / threads);
    lanes[t].hi = (u32)((uint64_t)items * (t + 1) / threads);
    __atomic_store_n(&lanes[t].next, 0, __ATOMIC_SEQ_CST);
  }
  __atomic_store_n(&job.pending, (i32)workers, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&job.generation, 1, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&job.generation, workers);
  run_chunks(0);
  for (i32 left; (left = __atomic_load_n(&job.pending, __ATOMIC_SEQ_CST)) != 0;) wait_while(&job.pending, left, caller_can_block);
}

// A worker's life: wait for the generation to move past `seen`, take chunks (its own share first:
// worker `id`, 1..workers, owns share id), count out; until quit.
__attribute__((export_name("worker_main"))) void worker_main(i32 seen, u32 id) {
  for (;;) {
    wait_while(&job.generation, seen, 1);
    seen = __atomic_load_n(&job.generation, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&job.quit, __ATOMIC_SEQ_CST)) return;
    run_chunks(id);
    if (__atomic_fetch_sub(&job.pending, 1, __ATOMIC_SEQ_CST) == 1) __builtin_wasm_memory_atomic_notify(&job.pending, 1);
  }
}

// A worker's kernel trapped (its host catches the trap): count it out of the job, so the caller
// does not wait forever, and flag the launch as failed. Returns the generation to wait past next:
// the failed job's, read before counting out, since the moment this worker is out the caller may
// start the next job, and a worker waiting past that one's generation would never join it.
__attribute__((export_name("worker_failed"))) i32 worker_failed(void) {
  i32 generation = __atomic_load_n(&job.generation, __ATOMIC_SEQ_CST);
  __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
  if (__atomic_fetch_sub(&job.pending, 1, __ATOMIC_SEQ_CST) == 1) __builtin_wasm_memory_atomic_notify(&job.pending, 1);
  return generation;
}

// After the caller itself trapped mid-launch: wait until the workers are out of the job too.
__attribute__((export_name("threads_settle"))) void threads_settle(void) {
  for (i32 left; (left = __atomic_load_n(&job.pending, __ATOMIC_SEQ_CST)) != 0;) wait_while(&job.pending, left, caller_can_block);
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
