// Which variant of each tunable kernel (runtime/kernelVariants.ts) is fastest on this adapter, at
// the shapes the run uses: the first time a shape is dispatched it runs plain and is noted; at the
// next read or sync every noted shape is timed, each variant on scratch buffers of the same sizes
// (a warm-up, one dispatch, then rounds of a few for the close ones), and the fastest is used from then on. Choices are
// kept per adapter and shape (a JSON file in Node, IndexedDB in a page), so a later run on the same
// adapter times nothing. Variants give the same bits, so the choice changes only the speed.
import type { AdapterSummary } from './adapters.ts';
import type { KernelCall } from './backend.ts';
import { isTunable, shapeKey, variantsOf, type KernelChoice } from './kernelVariants.ts';
import { shaderSource } from './shaders.ts';
import { timeCall, withScratch, type TimingDevice } from './timing.ts';

/** Where choices outlive the process: per adapter key, shape key → variant name. */
export interface ChoiceStore {
  readonly where: string;
  load(adapter: string): Promise<Record<string, string>>;
  save(adapter: string, choices: Record<string, string>): Promise<void>;
}

export interface TunedKernel {
  kernel: string;
  /** The call's integer parameters and grid. */
  shape: string;
  chosen: string;
  /** Milliseconds per dispatch of each variant that fits (its best timing); none when taken from the store. */
  ms: Record<string, number>;
}

const ROUNDS = 3;
const DISPATCHES = 4;

/** The adapter and the tunable kernels' sources: a kernel edited since a choice was stored invalidates it. */
export function adapterKey(adapter: AdapterSummary, featureLevel: string): string {
  let hash = 0x811c9dc5;
  for (const c of ['matmul', 'conv'].map(shaderSource).join('')) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193);
  const name = [adapter.backend, adapter.vendor, adapter.architecture, adapter.device, adapter.description, featureLevel].join('|');
  return `${name}#${(hash >>> 0).toString(16)}`;
}

export class Autotuner {
  private readonly noted = new Map<string, KernelCall>();
  private stored: Record<string, string> = {};
  /** Every shape chosen in this process, in the order first seen. */
  readonly tuned: TunedKernel[] = [];
  /** Seconds spent timing. */
  seconds = 0;

  constructor(private readonly choice: KernelChoice, private readonly key: string, readonly store: ChoiceStore | null) {}

  async load(): Promise<void> {
    this.stored = (await this.store?.load(this.key).catch(() => ({}))) ?? {};
  }

  /** Called for every dispatch: a tunable shape seen the first time runs plain until it is timed. */
  notice(call: KernelCall): void {
    if (!isTunable(call)) return;
    const key = shapeKey(call);
    if (this.choice.get(key) !== undefined || this.noted.has(key)) return;
    const stored = this.stored[key];
    if (stored && variantsOf(call.kernel).some((v) => v.name === stored && v.prepare(call))) {
      this.choice.set(key, stored);
      this.tuned.push({ kernel: call.kernel, shape: key, chosen: stored, ms: {} });
      return;
    }
    this.noted.set(key, call);
  }

  get due(): boolean {
    return this.noted.size > 0;
  }

  /** Times every noted shape's variants and keeps the fastest. */
  async settle(device: TimingDevice): Promise<void> {
    if (!this.noted.size) return;
    const started = performance.now();
    const calls = [...this.noted];
    this.noted.clear();
    for (const [key, call] of calls) {
      const fitting = variantsOf(call.kernel).filter((v) => v.prepare(call));
      const ms: Record<string, number> = {};
      if (fitting.length > 1) {
        await withScratch(device, call, async (scratch) => {
          // A warm-up (it builds the pipeline), then one timed dispatch each: a variant twice as slow
          // as the best is out (a barrier-heavy one on a software rasterizer), the rest go to rounds.
          for (const v of fitting) await timeCall(device, scratch, v.name, 1);
          for (const v of fitting) ms[v.name] = await timeCall(device, scratch, v.name, 1);
          const best = Math.min(...Object.values(ms));
          const contenders = fitting.filter((v) => ms[v.name]! <= 2 * best);
          for (let round = 0; round < ROUNDS && contenders.length > 1; round++) {
            for (const v of contenders) ms[v.name] = Math.min(ms[v.name]!, await timeCall(device, scratch, v.name, DISPATCHES));
          }
        });
      }
      const chosen = fitting.reduce((best, v) => ((ms[v.name] ?? 0) < (ms[best.name] ?? 0) ? v : best)).name;
      this.choice.set(key, chosen);
      this.stored[key] = chosen;
      this.tuned.push({ kernel: call.kernel, shape: key, chosen, ms });
    }
    await this.store?.save(this.key, this.stored).catch(() => {});
    this.seconds += (performance.now() - started) / 1000;
  }
}

