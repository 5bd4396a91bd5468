// A simple allocator over the WebAssembly memory: blocks come from a bump pointer and return to
// free lists by size class (four classes per power of two, so at most 25% is wasted), growing the
// memory when the bump pointer reaches its end. Memory is never returned, as with the GPU pool.
import { GpuError } from '../errors.ts';

const PAGE = 65536;
const ALIGN = 64;

export class Heap {
  private readonly free = new Map<number, number[]>();
  private top: number;
  liveBytes = 0;
  pooledBytes = 0;
  liveBuffers = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  static sizeClass(bytes: number): number {
    if (bytes <= 256) return 256;
    const quarter = 2 ** (Math.floor(Math.log2(bytes)) - 2);
    return Math.ceil(bytes / quarter) * quarter;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes, and its size class. */
  acquire(bytes: number): { offset: number; bytes: number } {
    const size = Heap.sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    let offset: number;
    if (reused !== undefined) {
      offset = reused;
      this.pooledBytes -= size;
    } else {
      offset = this.top;
      this.reserve(offset + size);
      this.top = offset + size;
    }
    this.liveBytes += size;
    this.liveBuffers++;
    return { offset, bytes: size };
  }

  release(offset: number, bytes: number): void {
    this.liveBytes -= bytes;
    this.liveBuffers--;
    this.pooledBytes += bytes;
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(offset);
  }

  private reserve(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow by at least a quarter of what there is, so a growing model does not grow page by page.
    const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        throw new GpuError(`wasm: out of memory growing the heap to ${(end / 2 ** 20).toFixed(0)} MiB (the limit is 4 GiB)`);
      }
    }
  }
}
