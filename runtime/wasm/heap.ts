// The allocator over the WebAssembly memory. Requests round up to size classes (four per power of
// two, so at most 25% is wasted) and freed blocks wait on a list per size: in a training loop every
// step asks for the same sizes, so nearly every request is a pop. When no block of the size is free
// and the memory already committed is used up, the memory grows while it stays within twice the
// most bytes ever live at once: a step's parts (forward, Architect step, weight step) ask for
// different sizes at different times, and each size's pool must be able to hold its own peak. Past
// that, adjacent free blocks are merged and the best fit is split before the memory grows further:
// a search whose batch size changes reuses the old step's space instead of stacking a new step's
// sizes on top of it. Merging rebuilds every pool, so a heap that merged on every miss would spend
// its time merging. Memory is never returned to the host.
import { GpuError } from '../errors.ts';

const PAGE = 65536;
const ALIGN = 64;
// Committed memory may grow without merging up to this many times the peak of live bytes.
const GROWTH_OVER_PEAK = 2;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export class Heap {
  /** Free blocks' offsets by their size in bytes. */
  private readonly free = new Map<number, number[]>();
  private top: number;
  liveBytes = 0;
  pooledBytes = 0;
  liveBuffers = 0;
  /** The most bytes live at once so far. */
  private peakLiveBytes = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
    /** Bytes the memory may grow to (the wasm32 limit unless a test sets less). */
    readonly limitBytes = 2 ** 32,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.capacityBytes = limitBytes - this.top;
  }

  /** What the heap can hand out in all: the memory's limit less the module's data and stack. */
  readonly capacityBytes: number;

  static sizeClass(bytes: number): number {
    if (bytes <= 256) return 256;
    const quarter = 2 ** (Math.floor(Math.log2(bytes)) - 2);
    return Math.ceil(bytes / quarter) * quarter;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes, and its size class. */
  acquire(bytes: number): { offset: number; bytes: number } {
    const size = Heap.sizeClass(bytes);
    const offset = this.pop(size) ?? this.bumpWithin(size) ?? this.bumpWithinPeak(size) ?? this.fitAfterMerging(size) ?? this.bumpGrowing(size);
    this.liveBytes += size;
    this.liveBuffers++;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    return { offset, bytes: size };
  }

  release(offset: number, bytes: number): void {
    this.liveBytes -= bytes;
    this.liveBuffers--;
    this.push(offset, bytes);
  }

  private push(offset: number, bytes: number): void {
    this.pooledBytes += bytes;
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(offset);
  }

  private pop(size: number): number | undefined {
    const offset = this.free.get(size)?.pop();
    if (offset !== undefined) this.pooledBytes -= size;
    return offset;
  }

  /** From the end of the used space, if the memory already committed holds it. */
  private bumpWithin(size: number): number | undefined {
    if (this.top + size > this.memory.buffer.byteLength) return undefined;
    const offset = this.top;
    this.top += size;
    return offset;
  }

  /** Growing the memory, while what it commits stays within GROWTH_OVER_PEAK × the live peak (this request's included). */
  private bumpWithinPeak(size: number): number | undefined {
    const end = this.top + size;
    if (end > GROWTH_OVER_PEAK * Math.max(this.peakLiveBytes, this.liveBytes + size) || end > this.limitBytes) return undefined;
    try {
      return this.bumpGrowing(size);
    } catch {
      // The host would not grow it this far: merging may still find the space.
      return undefined;
    }
  }

  /** Merges adjacent free blocks (giving the last one back to the bump pointer) and splits the best fit. */
  private fitAfterMerging(size: number): number | undefined {
    if (this.pooledBytes < size) return undefined;
    const blocks: [offset: number, bytes: number][] = [];
    for (const [bytes, offsets] of this.free) for (const offset of offsets) blocks.push([offset, bytes]);
    blocks.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [offset, bytes] of blocks) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === offset) last[1] += bytes;
      else merged.push([offset, bytes]);
    }
    const tail = merged[merged.length - 1];
    if (tail && tail[0] + tail[1] === this.top) {
      this.top = tail[0];
      merged.pop();
    }
    this.free.clear();
    this.pooledBytes = 0;
    let best = -1;
    merged.forEach(([, bytes], i) => {
      if (bytes >= size && (best < 0 || bytes < merged[best]![1])) best = i;
    });
    merged.forEach(([offset, bytes], i) => {
      if (i !== best) return this.push(offset, bytes);
      if (bytes > size) this.push(offset + size, bytes - size);
    });
    return best >= 0 ? merged[best]![0] : this.bumpWithin(size);
  }

  private bumpGrowing(size: number): number {
    const offset = this.top;
    this.reserve(offset + size);
    this.top = offset + size;
    return offset;
  }

  private reserve(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const limit = `(${mib(this.liveBytes)} live; the limit is ${mib(this.limitBytes)})`;
    if (end > this.limitBytes) throw new GpuError(`wasm: out of memory growing the heap to ${mib(end)} ${limit}`);
    // Grow by at least a quarter of what there is, so a growing model does not grow page by page.
    const needed = Math.ceil((end - have) / PAGE);
    const pages = Math.min(Math.max(needed, Math.ceil(have / PAGE / 4)), Math.floor((this.limitBytes - have) / PAGE));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(needed);
      } catch {
        throw new GpuError(`wasm: the host refused to grow the heap to ${mib(end)} ${limit}`);
      }
    }
  }
}
