// A backend that keeps shapes and no data: a model built on it lists every parameter with its
// shape, so sizes can be counted without a GPU (sgas info). Kernels are skipped, and reading a
// value is an error, since there is none.
import type { Backend, MemoryStats, Storage } from './backend.ts';

export class ShapeOnlyBackend implements Backend {
  readonly name = 'shape-only';
  private live = 0;

  alloc(length: number): Storage {
    this.live++;
    return { length };
  }

  release(): void {
    this.live--;
  }

  write(): void {}

  run(): void {}

  read(): Promise<Float32Array> {
    return Promise.reject(new Error('the shape-only backend holds no values (build on a GPU backend to compute)'));
  }

  async sync(): Promise<void> {}

  memory(): MemoryStats {
    return { liveBytes: 0, pooledBytes: 0, liveBuffers: this.live };
  }
}
