// Runs kernels on a GPUDevice. Work is recorded into one compute pass and submitted only
// when data must cross to the host (read, write, sync), so a training step is a handful of submits.
// Each call runs the kernel variant `variants` picks (plain unless told or tuned otherwise); while
// profiling, every dispatch is timed (runtime/profiler.ts).
import type { Backend, KernelCall, MemoryStats, Storage } from './backend.ts';
import { BufferPool, type PooledBuffer } from './bufferPool.ts';
import { DeviceLostError, GpuError } from './errors.ts';
import { KernelCache } from './kernelCache.ts';
import { KernelChoice, variantsOf, type KernelPolicy } from './kernelVariants.ts';
import { adapterKey, Autotuner, type ChoiceStore } from './autotune.ts';
import type { TimingDevice } from './timing.ts';
import { Profiler, type KernelTime, type ProfileMethod } from './profiler.ts';
import { adapterName } from './adapters.ts';
import { reopenDevice, type OpenedDevice } from './device.ts';

class GpuStorage implements Storage {
  constructor(
    readonly length: number,
    readonly entry: PooledBuffer,
  ) {}
  released = false;
}

// Dynamic-offset-free uniform arena: one slot per dispatch, 256-byte aligned as WebGPU requires.
const UNIFORM_SLOT = 256;
const UNIFORM_SLOTS = 4096;

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly device: GPUDevice;
  private readonly pool: BufferPool;
  /** Readback buffers, reused: every step reads its loss, logits and gradient norm. */
  private readonly staging: BufferPool;
  private readonly kernels: KernelCache;
  private readonly maxGroups: number;
  private readonly arena: GPUBuffer;
  private readonly arenaData = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private arenaSlots = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly pendingChecks: Promise<GpuError | null>[] = [];
  /** A lost device: every later call fails with it. */
  private failure: GpuError | null = null;
  /** Set by destroy(): the loss that follows is ours, not news. */
  private closing = false;
  /** An error no scope caught; reported at the next check unless a named one comes first. */
  private stray: GpuError | null = null;
  private recordedKernels = new Set<string>();
  /** Which variant of a kernel each call runs. */
  readonly variants = new KernelChoice();
  private profiler: Profiler | null = null;
  private autotuner: Autotuner | null = null;
  private policy: KernelPolicy = 'plain';
  /** The autotune's timing in progress: reads and syncs that come meanwhile wait for it. */
  private settling: Promise<void> | null = null;
  /** What the autotune and the profiler time kernels with: this backend, its syncs not waiting for them. */
  private readonly timingDevice: TimingDevice = {
    alloc: (length) => this.alloc(length),
    release: (storage) => this.release(storage),
    write: (storage, data) => this.write(storage, data),
    runVariant: (call, variant) => this.runVariant(call, variant),
    sync: () => this.finish(),
  };
  /** Dispatches and submits since the backend was made. */
  dispatches = 0;
  submits = 0;
  /** Work recorded since the last counted submit. */
  private unsubmitted = false;

  constructor(readonly opened: OpenedDevice) {
    this.device = opened.device;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.pool = new BufferPool(this.device, usage);
    this.staging = new BufferPool(this.device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.kernels = new KernelCache(this.device, (check) => this.pendingChecks.push(check));
    this.maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    this.arena = this.device.createBuffer({
      label: 'uniform arena',
      size: this.arenaData.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    opened.lost.then((info) => {
      if (this.closing) return;
      const why = info.message ? `${info.reason}: ${info.message}` : info.reason;
      this.failure ??= new DeviceLostError(`WebGPU device lost (${why}) on ${adapterName(opened.adapter)}`);
    });
    this.device.addEventListener('uncapturederror', (event) => {
      this.stray ??= new GpuError(`WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  alloc(length: number): Storage {
    this.throwIfFailed();
    return new GpuStorage(length, this.pool.acquire(length * 4));
  }

  release(storage: Storage): void {
    const s = storage as GpuStorage;
    if (s.released) return;
    s.released = true;
    this.pool.release(s.entry);
  }

  write(storage: Storage, data: Float32Array, offset = 0): void {
    const s = this.live(storage, 'write');
    if (offset + data.length > s.length) throw new GpuError(`write of ${data.length} floats at ${offset} overflows a buffer of ${s.length}`);
    // Recorded work may still read this buffer's previous contents: send it first,
    // because queue writes land before any later submit.
    this.submit();
    this.device.queue.writeBuffer(s.entry.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(storage: Storage): Promise<Float32Array> {
    await this.settleTuning();
    const s = this.live(storage, 'read');
    const bytes = Math.max(4, s.length * 4);
    const staging = this.staging.acquire(bytes);
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(s.entry.buffer, 0, staging.buffer, 0, bytes);
    this.unsubmitted = true;
    this.submit();
    try {
      await this.checkErrors();
      await this.untilLost(staging.buffer.mapAsync(GPUMapMode.READ));
      const out = new Float32Array(staging.buffer.getMappedRange().slice(0, s.length * 4));
      staging.buffer.unmap();
      this.throwIfFailed();
      return out;
    } finally {
      this.staging.release(staging);
    }
  }

  run(call: KernelCall): void {
    this.throwIfFailed();
    this.autotuner?.notice(call);
    this.dispatch(this.variants.pick(call));
  }

  /** Runs a call as one of its kernel's variants (the autotune times them so). */
  private runVariant(call: KernelCall, variant: string): void {
    const prepared = variantsOf(call.kernel).find((v) => v.name === variant)?.prepare(call);
    if (!prepared) throw new GpuError(`kernel ${call.kernel} has no variant '${variant}' that fits this call`);
    this.dispatch(prepared);
  }

  /**
   * From now on each tunable kernel runs the variant measured fastest on this device at the call's
   * shapes (runtime/autotune.ts); choices are kept in `store` (default: a file in Node's cache
   * folder, IndexedDB in a page; null: this process only).
   */
  async autotune(store?: ChoiceStore | null): Promise<Autotuner> {
    if (this.autotuner) return this.autotuner;
    const { kernelChoiceStore } = await import('./nodeGpu.ts');
    const tuner = new Autotuner(this.variants, adapterKey(this.opened.adapter, this.opened.featureLevel), store === undefined ? kernelChoiceStore() : store);
    await tuner.load();
    this.variants.mode = 'tuned';
    this.autotuner = tuner;
    return tuner;
  }

  /** The autotune, where one runs (its choices and timings). */
  get tuner(): Autotuner | null {
    return this.autotuner;
  }

  /** --kernels: see KernelPolicy. Resolves with the autotune where one runs. */
  async useKernels(policy: KernelPolicy): Promise<Autotuner | null> {
    this.policy = policy;
    if (policy === 'tune' || (policy === 'auto' && !this.opened.isSoftware)) return this.autotune();
    this.variants.mode = policy === 'tiled' ? 'tiled' : 'plain';
    return null;
  }

  private dispatch(chosen: KernelCall): void {
    const kernel = this.kernels.get(chosen.kernel, chosen.inputs.length, chosen.outputs.length);
    if (this.arenaSlots === UNIFORM_SLOTS || this.profiler?.full) this.flush();
    const slot = this.arenaSlots++;
    const u = chosen.u ?? [];
    const f = chosen.f ?? [];
    const view = new DataView(this.arenaData, slot * UNIFORM_SLOT, UNIFORM_SLOT);
    u.forEach((v, i) => view.setUint32(i * 4, v, true));
    f.forEach((v, i) => view.setFloat32((u.length + i) * 4, v, true));
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.arena, offset: slot * UNIFORM_SLOT, size: Math.max(16, Math.ceil((u.length + f.length) / 4) * 16) } },
    ];
    [...chosen.inputs, ...chosen.outputs].forEach((storage, i) => {
      const s = this.live(storage, chosen.kernel);
      entries.push({ binding: i + 1, resource: { buffer: s.entry.buffer, size: Math.max(4, s.length * 4) } });
    });
    const bindGroup = this.device.createBindGroup({ layout: kernel.bindGroupLayout, entries });
    const groups = kernel.workgroup.map((w, i) => Math.ceil((chosen.threads[i] ?? 1) / w)) as [number, number, number];
    // 1D kernels longer than the grid limit fold into y; they index with flat_index().
    if (groups[0] > this.maxGroups && groups[1] === 1) {
      groups[1] = Math.ceil(groups[0] / this.maxGroups);
      groups[0] = Math.ceil(groups[0] / groups[1]);
    }
    if (groups.some((g) => g > this.maxGroups)) {
      throw new GpuError(`kernel ${chosen.kernel}: grid ${groups.join('x')} exceeds ${this.maxGroups} workgroups per dimension`);
    }
    if (groups.some((g) => g === 0)) return;
    this.encoder ??= this.device.createCommandEncoder();
    const timed = this.profiler?.method === 'timestamp-query';
    if (timed) this.endPass();
    this.pass ??= this.encoder.beginComputePass(timed ? this.profiler!.pass(chosen.kernel) : undefined);
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(...groups);
    this.recordedKernels.add(chosen.kernel);
    this.dispatches++;
    this.unsubmitted = true;
    if (timed) this.endPass();
    else this.profiler?.dispatched(chosen);
  }

  /** Times every dispatch from now on: by timestamp queries where the device has them, else counted now and timed on the CPU at the report (runtime/profiler.ts). */
  startProfiling(): ProfileMethod {
    this.submit();
    this.profiler ??= new Profiler(this.device);
    return this.profiler.method;
  }

  /** Each kernel's time since startProfiling(), slowest first; profiling stops. */
  async stopProfiling(): Promise<KernelTime[]> {
    const profiler = this.profiler;
    if (!profiler) return [];
    await this.sync();
    this.profiler = null;
    return this.aside(() => profiler.report(this.timingDevice));
  }

  async sync(): Promise<void> {
    await this.settleTuning();
    await this.finish();
  }

  /** Submits the recorded work and waits for the device to finish it. */
  private async finish(): Promise<void> {
    this.submit();
    await this.checkErrors();
    await this.untilLost(this.device.queue.onSubmittedWorkDone());
    this.throwIfFailed();
  }

  /** A new backend on the same adapter (after a lost device), with nothing of this one's state. */
  async reopen(): Promise<WebGpuBackend> {
    const backend = new WebGpuBackend(await reopenDevice(this.opened));
    await backend.useKernels(this.policy);
    return backend;
  }

  memory(): MemoryStats {
    return { liveBytes: this.pool.liveBytes, pooledBytes: this.pool.pooledBytes, liveBuffers: this.pool.liveBuffers };
  }

  trim(): void {
    this.pool.trim();
  }

  destroy(): void {
    this.closing = true;
    if (!this.failure) this.submit();
    this.device.destroy();
  }

  private live(storage: Storage, user: string): GpuStorage {
    const s = storage as GpuStorage;
    if (s.released) throw new GpuError(`${user}: buffer used after it was released`);
    return s;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /**
   * Sends the recorded work, counting the submit the runtime itself needs (the profiler's own
   * submits, one per dispatch without timestamps, are not counted, so counts stay those of a normal run).
   */
  private submit(): void {
    if (this.unsubmitted) this.submits++;
    this.unsubmitted = false;
    this.flush();
  }

  private flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaSlots) this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaSlots * UNIFORM_SLOT);
    const kernels = [...this.recordedKernels].join(', ');
    const timed = this.profiler?.beforeSubmit(this.encoder);
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    timed?.();
    this.pendingChecks.push(
      this.device.popErrorScope().then((e) => (e ? new GpuError(`validation error in a batch running [${kernels}]: ${e.message}`) : null)),
    );
    this.encoder = null;
    this.arenaSlots = 0;
    this.recordedKernels = new Set();
  }

  /** Throws the first compile or validation error reported since the last check. */
  private async checkErrors(): Promise<void> {
    const checks = this.pendingChecks.splice(0);
    const error = (await Promise.all(checks)).find((e) => e !== null) ?? this.stray;
    this.stray = null;
    this.throwIfFailed();
    if (error) throw error;
  }

  /** Times the shapes the autotune noted since the last read or sync; a read or sync meanwhile waits for it. */
  private settleTuning(): Promise<void> {
    if (!this.settling && this.autotuner?.due) {
      this.settling = this.aside(() => this.autotuner!.settle(this.timingDevice)).finally(() => (this.settling = null));
    }
    return this.settling ?? Promise.resolve();
  }

  /** Device work of the backend's own (timings): not noted by the autotune, profiled or counted. */
  private async aside<T>(work: () => Promise<T>): Promise<T> {
    this.submit();
    const { profiler, dispatches, submits } = this;
    this.profiler = null;
    try {
      return await work();
    } finally {
      this.profiler = profiler;
      this.dispatches = dispatches;
      this.submits = submits;
      this.unsubmitted = false;
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Waits for work on the device; if it fails, the device may have been lost, which is then the
   * error to report (the lost promise can settle a moment after the failed wait).
   */
  private async untilLost<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (e) {
      await Promise.race([this.opened.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
      throw this.failure ?? e;
    }
  }
}
