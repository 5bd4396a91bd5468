// The Architect (SGAS.md §2.4 step 3, §2.6): updates the alphas of undecided edges with Adam on
// the gradient of the validation loss, first order by default or through one unrolled SGD step.
import { Adam, axpyInPlace, copyInto, crossEntropy, sumRaw, Tape, Tensor, type Backend, type Sgd } from '../../runtime/index.ts';
import type { SearchConfig } from './config.ts';
import type { Network } from './model.ts';

export interface LabelledBatch {
  x: Tensor;
  y: Tensor;
}

/** Sets .grad of whatever requires it to d(CE(net(x), y))/d(·); returns the loss tensor (kept). */
export function lossGradients(net: Network, batch: LabelledBatch): { loss: Tensor; logits: Tensor } {
  const tape = new Tape();
  const logits = tape.run(() => net.forward(batch.x));
  const loss = tape.run(() => crossEntropy(logits, batch.y));
  tape.backward(loss);
  tape.dispose([loss, logits]);
  return { loss, logits };
}

export function releaseGrads(params: readonly Tensor[]): void {
  for (const p of params) {
    p.grad?.release();
    p.grad = null;
  }
}

export class Architect {
  readonly adam: Adam;

  constructor(private readonly net: Network, private readonly config: SearchConfig) {
    this.adam = new Adam(net.alphaParameters(), {
      lr: config.archLearningRate, betas: config.archBetas, weightDecay: config.archWeightDecay,
    });
  }

  /** One Adam step on the alphas; frozen (decided or pruned) alphas get no gradient, so Adam skips them. */
  async step(valid: LabelledBatch, train: LabelledBatch, lr: number, sgd: Sgd): Promise<void> {
    if (this.config.unrolled) await this.unrolledGradients(valid, train, lr, sgd);
    else {
      this.net.setRequiresGrad(false, true);
      const { loss, logits } = lossGradients(this.net, valid);
      loss.release();
      logits.release();
    }
    this.adam.step();
    releaseGrads(this.net.alphaParameters());
  }

  /**
   * DARTS' second-order gradient: dα = ∇α L_val(w′) − η·[∇α L_train(w⁺) − ∇α L_train(w⁻)] / 2ε with
   * w′ = w − η(momentum·buf + ∇w L_train(w) + wd·w), w± = w ± ε·∇w′ L_val, ε = 0.01/‖∇w′ L_val‖.
   */
  private async unrolledGradients(valid: LabelledBatch, train: LabelledBatch, eta: number, sgd: Sgd): Promise<void> {
    const net = this.net;
    const weights = net.parameters();
    const alphas = net.alphaParameters();
    const backend = weights[0]!.backend as Backend;
    const saved = Tape.outside(() => weights.map((w) => {
      const copy = Tensor.empty(backend, w.shape);
      copyInto(copy, w);
      return copy;
    }));
    try {
      net.setRequiresGrad(true, false);
      releaseGrads(weights);
      this.release(lossGradients(net, train));
      // w′ = w − η·(momentum·buf + g + wd·w): the weight step SGD would take, without its state.
      weights.forEach((w, i) => {
        if (!w.grad) return;
        const buffer = sgd.momentumBuffer(w);
        if (buffer) axpyInPlace(w, buffer, -eta * sgd.momentum);
        axpyInPlace(w, w.grad, -eta);
        axpyInPlace(w, saved[i]!, -eta * sgd.weightDecay);
      });
      releaseGrads(weights);
      net.setRequiresGrad(true, true);
      this.release(lossGradients(net, valid));
      const dAlpha = Tape.outside(() => alphas.map((a) => a.grad));
      alphas.forEach((a) => (a.grad = null));
      const dw = Tape.outside(() => weights.map((w) => w.grad));
      weights.forEach((w) => (w.grad = null));
      const squares = dw.map((g) => (g ? sumRaw(g, 1, true) : null));
      let norm2 = 0;
      for (const s of squares) if (s) norm2 += await s.item();
      squares.forEach((s) => s?.release());
      const eps = 0.01 / Math.sqrt(norm2);
      const hessianTerm = async (sign: 1 | -1): Promise<(Tensor | null)[]> => {
        weights.forEach((w, i) => {
          copyInto(w, saved[i]!);
          if (dw[i]) axpyInPlace(w, dw[i]!, sign * eps);
        });
        net.setRequiresGrad(false, true);
        this.release(lossGradients(net, train));
        const grads = alphas.map((a) => a.grad);
        alphas.forEach((a) => (a.grad = null));
        return grads;
      };
      const plus = await hessianTerm(1);
      const minus = await hessianTerm(-1);
      alphas.forEach((a, i) => {
        const g = dAlpha[i];
        if (!g) return;
        if (plus[i]) axpyInPlace(g, plus[i]!, -eta / (2 * eps));
        if (minus[i]) axpyInPlace(g, minus[i]!, eta / (2 * eps));
        a.grad = g;
      });
      for (const t of [...plus, ...minus, ...dw]) t?.release();
    } finally {
      weights.forEach((w, i) => copyInto(w, saved[i]!));
      saved.forEach((s) => s.release());
    }
  }

  private release({ loss, logits }: { loss: Tensor; logits: Tensor }): void {
    loss.release();
    logits.release();
  }
}
