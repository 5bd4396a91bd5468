// Shared bookkeeping: per-parameter state buffers and step counts, serialisable for checkpoints.
import { fillInPlace } from '../ops/elementwise.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';

export interface ParamState {
  step: number;
  buffers: Tensor[];
}

export interface SavedOptimizerState {
  steps: number[];
  /** Per parameter, per state buffer: the values (empty until the parameter first stepped). */
  buffers: Float32Array[][];
}

export abstract class Optimizer {
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(
    readonly params: Tensor[],
    private readonly buffersPerParam: number,
  ) {}

  /** Updates every parameter that received a gradient; the others are skipped, as in PyTorch. */
  step(): void {
    for (const param of this.params) {
      if (!param.grad) continue;
      let s = this.state.get(param);
      if (!s) {
        const buffers = Tape.outside(() => Array.from({ length: this.buffersPerParam }, () => Tensor.zeros(param.backend, param.shape)));
        this.state.set(param, (s = { step: 0, buffers }));
      }
      s.step++;
      this.update(param, param.grad, s);
    }
  }

  protected abstract update(param: Tensor, grad: Tensor, state: ParamState): void;

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.release();
      p.grad = null;
    }
  }

  async save(): Promise<SavedOptimizerState> {
    const steps: number[] = [];
    const buffers: Float32Array[][] = [];
    for (const p of this.params) {
      const s = this.state.get(p);
      steps.push(s?.step ?? 0);
      buffers.push(s ? await Promise.all(s.buffers.map((b) => b.read())) : []);
    }
    return { steps, buffers };
  }

  load(saved: SavedOptimizerState): void {
    if (saved.steps.length !== this.params.length) {
      throw new Error(`optimizer state holds ${saved.steps.length} parameters, the model has ${this.params.length}`);
    }
    this.params.forEach((p, i) => {
      this.state.get(p)?.buffers.forEach((b) => b.release());
      this.state.delete(p);
      if (!saved.steps[i]) return;
      const buffers = Tape.outside(() => saved.buffers[i]!.map((data) => Tensor.from(p.backend, data, p.shape)));
      this.state.set(p, { step: saved.steps[i]!, buffers });
    });
  }

  /** Frees the state of every parameter (e.g. before dropping the model). */
  release(): void {
    for (const s of this.state.values()) s.buffers.forEach((b) => b.release());
    this.state.clear();
  }

  protected static clear(buffers: Tensor[]): void {
    for (const b of buffers) fillInPlace(b, 0);
  }
}
