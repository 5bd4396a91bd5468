// A backend that computes nothing and counts the bytes it hands out and the floating-point work it is
// asked for: running a step on it tells how much memory the step needs at most, and how much
// arithmetic it does, in a fraction of a second, before any real work starts.
// Reads give zeros, so code that reads a loss or logits runs through unchanged.
import type { Backend, KernelCall, MemoryStats, Storage } from './backend.ts';

export class CountingBackend implements Backend {
  readonly name = 'counting';
  liveBytes = 0;
  /** The most bytes live at once since the last resetPeak(). */
  peakBytes = 0;
  /** Floating-point operations of every kernel call so far (KernelCall.flops). */
  flops = 0;
  /** The same, per kernel (family/entry). */
  readonly flopsByKernel = new Map<string, number>();
  private buffers = 0;

  /** `sizeClass` rounds a request as the backend being modelled does (the wasm heap's classes, say). */
  constructor(private readonly sizeClass: (bytes: number) => number = (bytes) => bytes) {}

  alloc(length: number): Storage {
    this.liveBytes += this.sizeClass(Math.max(4, length * 4));
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    this.buffers++;
    return { length };
  }

  release(storage: Storage): void {
    this.liveBytes -= this.sizeClass(Math.max(4, storage.length * 4));
    this.buffers--;
  }

  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  write(): void {}

  run(call: KernelCall): void {
    this.flops += call.flops ?? 0;
    this.flopsByKernel.set(call.kernel, (this.flopsByKernel.get(call.kernel) ?? 0) + (call.flops ?? 0));
  }

  async read(storage: Storage): Promise<Float32Array> {
    return new Float32Array(storage.length);
  }

  async sync(): Promise<void> {}

  memory(): MemoryStats {
    return { liveBytes: this.liveBytes, pooledBytes: 0, liveBuffers: this.buffers };
  }
}
