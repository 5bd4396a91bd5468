// The contract between the tape and whatever runs kernels (WGSL today, WebAssembly later).
// Ops speak only in kernel names, buffers and scalar parameters, never in GPU objects.

/** An opaque f32 buffer owned by a backend. */
export interface Storage {
  readonly length: number;
}

export interface KernelCall {
  /** "family/entry": the WGSL file in shaders/ and its entry point. */
  kernel: string;
  inputs: Storage[];
  /** Written (and possibly read) by the kernel. */
  outputs: Storage[];
  /** Integer parameters, in the order of the kernel's Params struct, followed by `f`. */
  u?: number[];
  f?: number[];
  /** Invocations wanted along x (and y, z); the backend picks the grid. */
  threads: [number, number?, number?];
  /** Floating-point operations the call does (a multiply-add is two), for CountingBackend; 0 when not told. */
  flops?: number;
}

export interface MemoryStats {
  liveBytes: number;
  pooledBytes: number;
  liveBuffers: number;
}

export interface Backend {
  readonly name: string;
  alloc(length: number): Storage;
  /** Returns the storage to the pool; work already recorded that uses it still sees its data. */
  release(storage: Storage): void;
  write(storage: Storage, data: Float32Array, offset?: number): void;
  read(storage: Storage): Promise<Float32Array>;
  run(call: KernelCall): void;
  /** Sends recorded work and waits for it; rethrows the first error any kernel raised. */
  sync(): Promise<void>;
  memory(): MemoryStats;
  /**
   * How much the backend can hold in all and how it rounds a request, where it knows: the wasm heap
   * does; WebGPU does not tell how much memory a device has.
   */
  readonly capacity?: Capacity;
  /**
   * A new backend of the same kind, on the same adapter, after this one's device was lost
   * (DeviceLostError); where a backend cannot lose its device (WebAssembly), there is none.
   */
  reopen?(): Promise<Backend>;
}

export interface Capacity {
  bytes: number;
  sizeClass(bytes: number): number;
}
