// A tree of named parameters and buffers (BatchNorm running statistics), PyTorch-style names
// ("cell0.edge3.sep_conv_3x3.dw1") so checkpoints and golden files line up by name.
import type { Tensor } from './tensor.ts';

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = true;

  protected param(name: string, t: Tensor): Tensor {
    this.ownParams.set(name, t);
    return t;
  }

  protected buffer(name: string, t: Tensor): Tensor {
    this.ownBuffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownBuffers) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Training mode (batch statistics) or evaluation mode (running statistics), recursively. */
  setTraining(training: boolean): void {
    this.training = training;
    for (const c of this.children.values()) c.setTraining(training);
  }

  /** Releases every parameter, gradient and buffer of the tree. */
  release(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      t.grad?.release();
      t.release();
    }
  }
}
