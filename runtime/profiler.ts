// How long each kernel runs on the device. With the timestamp-query feature every dispatch gets a
// compute pass of its own whose start and end the GPU stamps. Without it (OpenGL ES, most browsers
// by default) the dispatches are only counted per kernel and shape as the run makes them, and at
// the report each such call is timed on the CPU, alone, from its submit to the queue reporting it
// done (less the same round trip of an empty kernel); a kernel's time is that times its count.
import type { KernelCall } from './backend.ts';
import { shapeKey } from './kernelVariants.ts';
import { timeCall, withScratch, type TimingDevice } from './timing.ts';

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

export type ProfileMethod = 'timestamp-query' | 'cpu';

// Dispatches per query set: two timestamps each; the batch is submitted and read when it fills.
const QUERIES = 512;
// CPU method: timed runs of each kernel shape (and of the empty kernel), the fastest kept.
const CPU_RUNS = 3;
// The round trip of a submit that does next to nothing, taken off each CPU timing.
const EMPTY: KernelCall = { kernel: 'elementwise/fill', inputs: [], outputs: [{ length: 1 }], u: [1, 0], f: [0], threads: [1] };

export class Profiler {
  readonly method: ProfileMethod;
  private readonly times = new Map<string, { calls: number; ms: number }>();
  private readonly pending = new Set<Promise<void>>();
  private querySet: GPUQuerySet | null = null;
  /** Kernels whose passes wrote the current query set, in order. */
  private stamped: string[] = [];
  /** CPU method: the calls made, by shape, and how often. */
  private readonly counted = new Map<string, { call: KernelCall; calls: number }>();
  /** CPU method: milliseconds of one call of each shape timed so far. */
  private readonly timed = new Map<string, number>();

  constructor(private readonly device: GPUDevice) {
    this.method = device.features.has('timestamp-query') ? 'timestamp-query' : 'cpu';
  }

  /** The compute pass for one dispatch of `kernel` (timestamp method). */
  pass(kernel: string): GPUComputePassDescriptor {
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: QUERIES });
    const at = 2 * this.stamped.length;
    this.stamped.push(kernel);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } };
  }

  /** Whether the query set is full, and the work must be submitted before the next dispatch. */
  get full(): boolean {
    return 2 * this.stamped.length >= QUERIES;
  }

  /** A dispatch as it ran (CPU method). */
  dispatched(call: KernelCall): void {
    const key = shapeKey(call);
    const entry = this.counted.get(key);
    if (entry) entry.calls++;
    else this.counted.set(key, { call, calls: 1 });
  }

  /** Just before the encoder is finished: the stamps are copied where the CPU can read them; call the result after the submit. */
  beforeSubmit(encoder: GPUCommandEncoder): (() => void) | null {
    if (!this.stamped.length) return null;
    const kernels = this.stamped.splice(0);
    const bytes = kernels.length * 16;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet!, 0, kernels.length * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    return () => {
      const read = readback.mapAsync(GPUMapMode.READ).then(() => {
        const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
        kernels.forEach((kernel, i) => this.add(kernel, 1, Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6));
      }).catch(() => {}).finally(() => {
        readback.destroy();
        resolved.destroy();
        this.pending.delete(read);
      });
      this.pending.add(read);
    };
  }

  /** Every kernel's time so far, slowest first; the CPU method times its calls now, on `device`. */
  async report(device: TimingDevice): Promise<KernelTime[]> {
    await Promise.all(this.pending);
    if (this.counted.size) {
      // The first dispatch of each builds its pipeline; the best of the runs after it counts.
      const roundTrip = (call: KernelCall) => withScratch(device, call, async (scratch) => {
        await timeCall(device, scratch, 'plain', 1);
        let best = Infinity;
        for (let i = 0; i < CPU_RUNS; i++) best = Math.min(best, await timeCall(device, scratch, 'plain', 1));
        return best;
      });
      const empty = await roundTrip(EMPTY);
      for (const [key, { call, calls }] of this.counted) {
        if (!this.timed.has(key)) this.timed.set(key, Math.max(0, (await roundTrip(call)) - empty));
        this.add(call.kernel, calls, calls * this.timed.get(key)!);
      }
      this.counted.clear();
    }
    return [...this.times].map(([kernel, t]) => ({ kernel, ...t })).sort((a, b) => b.ms - a.ms);
  }

  private add(kernel: string, calls: number, ms: number): void {
    const t = this.times.get(kernel) ?? { calls: 0, ms: 0 };
    t.calls += calls;
    t.ms += ms;
    this.times.set(kernel, t);
  }
}
