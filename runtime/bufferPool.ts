// Reuses GPU buffers by power-of-two size class, so a training step allocates nothing new
// after the first one.
export interface PooledBuffer {
  buffer: GPUBuffer;
  bytes: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  liveBytes = 0;
  pooledBytes = 0;
  liveBuffers = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
  ) {}

  static sizeClass(bytes: number): number {
    return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 4))));
  }

  acquire(bytes: number): PooledBuffer {
    const size = BufferPool.sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused) this.pooledBytes -= size;
    const buffer = reused ?? this.device.createBuffer({ size, usage: this.usage });
    this.liveBytes += size;
    this.liveBuffers++;
    return { buffer, bytes: size };
  }

  release(entry: PooledBuffer): void {
    this.liveBytes -= entry.bytes;
    this.liveBuffers--;
    this.pooledBytes += entry.bytes;
    let list = this.free.get(entry.bytes);
    if (!list) this.free.set(entry.bytes, (list = []));
    list.push(entry.buffer);
  }

  /** Frees pooled (unused) buffers, e.g. after the network shrinks at a decision. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
