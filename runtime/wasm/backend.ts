// Runs every kernel of shaders/*.wgsl as WebAssembly (wasm/<family>.c, built by scripts/build-wasm.mjs)
// behind the same Backend interface, so the tape, the model and the search run unchanged on a CPU.
// A launch is one call into the module: the backend writes the buffers' addresses and the Params words
// into the module's call block, then calls the export named after the kernel. Kernels run at once
// (big ones spread over a worker pool, and the call returns when all threads are done), so work
// recorded before a write always sees the old data, and sync() has nothing left to wait for.
import type { Backend, Capacity, KernelCall, MemoryStats, Storage } from '../backend.ts';
import { GpuError } from '../errors.ts';
import { Heap } from './heap.ts';
import { chooseBuild, compileKernels, describeBuild, isNode, type KernelBuild } from './module.ts';
import { hardwareThreads, startWorkers, type WorkerPool } from './threads.ts';

class WasmStorage implements Storage {
  released = false;
  constructor(
    readonly length: number,
    /** Byte offset in the module's memory. */
    readonly offset: number,
    readonly bytes: number,
  ) {}
}

// The call block's layout (wasm/kernels.h): io[12] addresses, threads[3], then the Params words.
const MAX_BUFFERS = 12;
const THREADS_AT = MAX_BUFFERS;
const PARAMS_AT = THREADS_AT + 3;
const MAX_PARAMS = 32;
// Initial memory: the module's 4 MiB stack and data, and room for a small model.
const INITIAL_PAGES = 256;
const MAX_PAGES = 65536;
// Each worker's stack, as large as the module's own (kernels keep padded planes there).
const WORKER_STACK = 4 << 20;
// wasm/threads.c's MAX_THREADS: the shares a launch can be cut into.
const MAX_THREADS = 64;

type KernelEntry = (call: number) => void;

export interface WasmBackendOptions {
  log?: (line: string) => void;
  /** Threads, the caller's included (default: every core; 1 in a page without cross-origin isolation). */
  threads?: number;
  /** Smallest launch, in rough arithmetic operations, worth splitting between threads (tests set 1). */
  minParallelWork?: number;
  /**
   * The relaxed-SIMD kernels (fused multiply-add): 'auto' (default) where the engine runs them and
   * they were built, true to insist, false for the plain 128-bit SIMD build.
   */
  relaxedSimd?: boolean | 'auto';
  /** The folder (URL or, in Node, a file URL) holding the kernels*.wasm files; default: beside the runtime. */
  kernelsUrl?: string | URL;
}

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  private readonly callBlock: number;
  private buffer: ArrayBufferLike;
  private words: Uint32Array;
  private floats: Float32Array;
  private pool: WorkerPool | null = null;
  private readonly stackPointer: WebAssembly.Global;
  private readonly stackTop: number;

  constructor(
    private readonly wasmMemory: WebAssembly.Memory,
    private readonly exports: WebAssembly.Exports,
    readonly kernelBuild: KernelBuild = { threads: false, relaxed: false },
    readonly heap = new Heap(wasmMemory, (exports.__heap_base as WebAssembly.Global).value as number),
  ) {
    this.callBlock = (exports.call_block as () => number)();
    this.stackPointer = exports.__stack_pointer as WebAssembly.Global;
    this.stackTop = this.stackPointer.value as number;
    this.buffer = wasmMemory.buffer;
    this.words = new Uint32Array(this.buffer);
    this.floats = new Float32Array(this.buffer);
  }

  alloc(length: number): Storage {
    const block = this.heap.acquire(Math.max(4, length * 4));
    return new WasmStorage(length, block.offset, block.bytes);
  }

  release(storage: Storage): void {
    const s = storage as WasmStorage;
    if (s.released) return;
    s.released = true;
    this.heap.release(s.offset, s.bytes);
  }

  write(storage: Storage, data: Float32Array, offset = 0): void {
    const s = this.live(storage, 'write');
    if (offset + data.length > s.length) throw new GpuError(`write of ${data.length} floats at ${offset} overflows a buffer of ${s.length}`);
    this.view().set(data, s.offset / 4 + offset);
  }

  async read(storage: Storage): Promise<Float32Array> {
    const s = this.live(storage, 'read');
    const at = s.offset / 4;
    return this.view().slice(at, at + s.length);
  }

  run(call: KernelCall): void {
    const entry = this.exports[call.kernel] as KernelEntry | undefined;
    if (typeof entry !== 'function') {
      const family = call.kernel.split('/')[0];
      throw new GpuError(`kernel ${call.kernel}: no WebAssembly implementation (wasm/${family}.c exports none by that name)`);
    }
    const buffers = [...call.inputs, ...call.outputs];
    const u = call.u ?? [];
    const f = call.f ?? [];
    if (buffers.length > MAX_BUFFERS || u.length + f.length > MAX_PARAMS) {
      throw new GpuError(`kernel ${call.kernel}: ${buffers.length} buffers and ${u.length + f.length} parameters exceed the call block`);
    }
    this.view();
    const base = this.callBlock / 4;
    buffers.forEach((storage, i) => (this.words[base + i] = this.live(storage, call.kernel).offset));
    for (let i = 0; i < 3; i++) this.words[base + THREADS_AT + i] = call.threads[i] ?? 1;
    u.forEach((v, i) => (this.words[base + PARAMS_AT + i] = v));
    f.forEach((v, i) => (this.floats[base + PARAMS_AT + u.length + i] = v));
    try {
      entry(this.callBlock);
    } catch (e) {
      // A trap leaves the stack pointer where the kernel's frames had it, and maybe workers in the job.
      this.stackPointer.value = this.stackTop;
      if (this.pool) (this.exports.threads_settle as () => void)();
      (this.exports.threads_take_failure as (() => number) | undefined)?.();
      throw new GpuError(`kernel ${call.kernel}: ${(e as Error).message}`);
    }
    if (this.pool && (this.exports.threads_take_failure as () => number)()) {
      throw new GpuError(`kernel ${call.kernel}: trapped on a worker thread`);
    }
  }

  async sync(): Promise<void> {}

  get capacity(): Capacity {
    return { bytes: this.heap.capacityBytes, sizeClass: Heap.sizeClass };
  }

  memory(): MemoryStats {
    return { liveBytes: this.heap.liveBytes, pooledBytes: this.heap.pooledBytes, liveBuffers: this.heap.liveBuffers };
  }

  /** The kernels' instruction set, in words. */
  get build(): string {
    return describeBuild(this.kernelBuild);
  }

  /** Threads that run big kernels, the caller's included. */
  get threads(): number {
    return 1 + (this.pool?.size ?? 0);
  }

  /** Hands the worker pool over; its workers are told to return and stopped on destroy(). */
  adoptWorkers(pool: WorkerPool, minParallelWork = 0): void {
    (this.exports.threads_init as (workers: number, canBlock: number, minWork: number) => void)(pool.size, canBlock() ? 1 : 0, minParallelWork);
    this.pool = pool;
  }

  destroy(): void {
    if (!this.pool) return;
    (this.exports.threads_stop as () => void)();
    this.pool.stop();
    this.pool = null;
  }

  /** The memory as floats, renewed after the heap grew it. */
  private view(): Float32Array {
    if (this.wasmMemory.buffer !== this.buffer) {
      this.buffer = this.wasmMemory.buffer;
      this.words = new Uint32Array(this.buffer);
      this.floats = new Float32Array(this.buffer);
    }
    return this.floats;
  }

  private live(storage: Storage, user: string): WasmStorage {
    const s = storage as WasmStorage;
    if (s.released) throw new GpuError(`${user}: buffer used after it was released`);
    return s;
  }
}

/** A browser's main thread may not sleep in Atomics.wait; Node's main thread and workers may. */
function canBlock(): boolean {
  return isNode || typeof (globalThis as { document?: unknown }).document === 'undefined';
}

export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = Math.min(MAX_THREADS, Math.max(1, Math.floor(options.threads ?? (await hardwareThreads()))));
  const threaded = threads > 1;
  const build = await chooseBuild(threaded, options.relaxedSimd ?? 'auto', options.kernelsUrl);
  const module = await compileKernels(build, options.kernelsUrl);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: threaded });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const backend = new WasmBackend(memory, instance.exports, build);
  if (threaded) {
    const stacks = Array.from({ length: threads - 1 }, () => {
      const block = backend.heap.acquire(WORKER_STACK);
      return block.offset + block.bytes;
    });
    backend.adoptWorkers(await startWorkers(module, memory, stacks), options.minParallelWork);
  }
  options.log?.(`wasm: ${threads} thread${threads > 1 ? 's' : ''}, ${backend.build}`);
  return backend;
}
