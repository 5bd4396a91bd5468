// Reverse-mode autograd. Ops record a backward closure here while a tape is current; every
// tensor made while it is current is owned by it and released by dispose(), so a training
// step leaves nothing behind but parameters, their gradients and what the caller keeps.
// Each op also says which tensors its backward reads (`saves`); a block that is done with a
// tensor it made hands it to discard(), which releases it at once unless a backward saved it, so
// a step keeps what its backward needs, not every activation it made. One a backward saved goes as
// soon as the backward pass is past the last op that reads it, so the pass gives back the forward's
// memory as it goes instead of holding all of it until dispose().
import type { Storage } from './backend.ts';
import type { Tensor } from './tensor.ts';

export type Grads = (Tensor | null)[];

interface Node {
  op: string;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  backward: (outputGrads: Grads) => Grads;
}

/** How a gradient is added to another one; supplied by runtime/ops so the tape stays kernel-free. */
export interface GradAccumulator {
  add(a: Tensor, b: Tensor): Tensor;
  /** target += g, in place. */
  addInto(target: Tensor, g: Tensor): void;
  /** Copies g into the parameter's gradient buffer, or adds it when the gradient already exists. */
  accumulateInto(param: Tensor, g: Tensor): void;
  ones(like: Tensor): Tensor;
}

export class Tape {
  static current: Tape | null = null;
  private static gradEnabled = true;
  private static recomputeDepth = 0;
  static accumulator: GradAccumulator;

  private readonly nodes: Node[] = [];
  private readonly owned = new Set<Tensor>();
  private readonly produced = new Set<Tensor>();
  /** Storage some recorded backward reads, with the first (lowest) node that reads it: the backward's last use. */
  private readonly saved = new Map<Storage, number>();
  /** Tensors discarded while saved: released once the backward pass has run their last reader. */
  private readonly parked = new Map<Storage, Tensor>();
  /** Set once a backward pass released parked tensors: a second pass would read released buffers. */
  private spent = false;
  /** While backward() runs: the tensors it makes, by storage, so spent gradients can be released early. */
  private madeInBackward: Map<Storage, Tensor> | null = null;

  static get recording(): boolean {
    return Tape.current !== null && Tape.gradEnabled;
  }

  /** Runs fn with this tape current; ops inside it are recorded and their outputs owned. */
  run<T>(fn: () => T): T {
    const previous = Tape.current;
    Tape.current = this;
    try {
      return fn();
    } finally {
      Tape.current = previous;
    }
  }

  /** Runs fn without recording gradients (tensors made inside are still owned by the tape). */
  static noGrad<T>(fn: () => T): T {
    return Tape.withGrad(false, fn);
  }

  /** Runs fn with gradient recording on or off, whatever it was outside. */
  static withGrad<T>(enabled: boolean, fn: () => T): T {
    const previous = Tape.gradEnabled;
    Tape.gradEnabled = enabled;
    try {
      return fn();
    } finally {
      Tape.gradEnabled = previous;
    }
  }

  /** True while a backward pass computes a block's forward a second time (see ops/recompute.ts). */
  static get recomputing(): boolean {
    return Tape.recomputeDepth > 0;
  }

  /** Runs fn as a second forward: ops skip their side effects (BatchNorm's running statistics). */
  static asRecompute<T>(fn: () => T): T {
    Tape.recomputeDepth++;
    try {
      return fn();
    } finally {
      Tape.recomputeDepth--;
    }
  }

  /** Runs fn with no current tape: what it makes belongs to the caller (parameters, state). */
  static outside<T>(fn: () => T): T {
    const previous = Tape.current;
    Tape.current = null;
    try {
      return fn();
    } finally {
      Tape.current = previous;
    }
  }

  own(t: Tensor): void {
    this.owned.add(t);
    this.madeInBackward?.set(t.storage, t);
  }

  /** Hands a tensor over to the caller: dispose() will not release it. */
  keep(t: Tensor): Tensor {
    this.owned.delete(t);
    return t;
  }

  /**
   * Records an op's backward. `saves` lists the tensors that backward reads (default: every input);
   * what it reads besides them must be its own (statistics, indices), never another op's tensor.
   */
  static record(op: string, inputs: readonly Tensor[], outputs: readonly Tensor[], backward: (g: Grads) => Grads, saves: readonly (Tensor | null)[] = inputs): void {
    const tape = Tape.current;
    if (!tape || !Tape.gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
    for (const o of outputs) {
      o.requiresGrad = true;
      tape.produced.add(o);
    }
    for (const t of saves) if (t && !tape.saved.has(t.storage)) tape.saved.set(t.storage, tape.nodes.length);
    tape.nodes.push({ op, inputs, outputs, backward });
  }

  /**
   * The forward is done with `t`, a tensor the caller made on this tape and handed only to ops:
   * it is released now unless a recorded backward saved it (then it goes once backward() has run
   * the last op that reads it, or with dispose()).
   */
  static discard(t: Tensor): void {
    const tape = Tape.current;
    if (!tape || !tape.owned.has(t)) return;
    if (tape.saved.has(t.storage)) {
      tape.parked.set(t.storage, t);
      return;
    }
    tape.owned.delete(t);
    t.release();
  }

  /**
   * Accumulates d(loss)/d(parameter) into every reachable parameter's .grad, and returns the
   * gradients of the intermediate tensors in `retain` (owned by the tape, null if unreached).
   * An intermediate's gradient is released as soon as the op that produced it has used it, so the
   * pass holds the gradients of one frontier at a time, not of the whole graph.
   */
  backward(loss: Tensor, seed?: Tensor, retain: readonly Tensor[] = []): (Tensor | null)[] {
    if (this.spent) throw new Error('Tape.backward: an earlier backward on this tape released the activations it read; record the forward on a new tape');
    return this.run(() =>
      Tape.noGrad(() => {
        const made = new Map<Storage, Tensor>();
        this.madeInBackward = made;
        try {
          return this.propagate(loss, seed, retain, made);
        } finally {
          this.madeInBackward = null;
        }
      }),
    );
  }

  private propagate(loss: Tensor, seed: Tensor | undefined, retained: readonly Tensor[], made: Map<Storage, Tensor>): (Tensor | null)[] {
    const retain = new Set(retained);
    const start = seed ?? Tape.accumulator.ones(loss);
    const grads = new Map<Tensor, Tensor>();
    // How many entries of `grads` hold each storage: views and ops that pass a gradient through share one.
    const holders = new Map<Storage, number>();
    const hold = (t: Tensor, g: Tensor) => {
      grads.set(t, g);
      holders.set(g.storage, (holders.get(g.storage) ?? 0) + 1);
    };
    const unhold = (g: Tensor) => {
      const n = holders.get(g.storage)! - 1;
      if (n > 0) holders.set(g.storage, n);
      else holders.delete(g.storage);
    };
    // Only what this pass made is released early; a caller's seed and forward tensors wait for dispose().
    const releaseIfUnheld = (g: Tensor) => {
      if (holders.has(g.storage)) return;
      made.get(g.storage)?.release();
      made.delete(g.storage);
    };
    hold(loss, start);
    // Parked tensors by the node after whose backward nothing reads them any more.
    const lastUse = new Map<number, Tensor[]>();
    for (const [storage, t] of this.parked) {
      const n = this.saved.get(storage)!;
      const list = lastUse.get(n);
      if (list) list.push(t);
      else lastUse.set(n, [t]);
    }
    this.spent = this.parked.size > 0;
    // A loss that is itself a parameter (an identity op) gets the seed directly.
    if (loss.requiresGrad && !this.produced.has(loss)) Tape.accumulator.accumulateInto(loss, start);
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      for (const t of lastUse.get(n + 1) ?? []) this.releaseParked(t);
      const node = this.nodes[n]!;
      const outputGrads = node.outputs.map((o) => grads.get(o) ?? null);
      if (outputGrads.every((g) => g === null)) continue;
      const inputGrads = node.backward(outputGrads);
      const spent: Tensor[] = [];
      node.inputs.forEach((input, i) => {
        const g = inputGrads[i];
        if (!g) return;
        spent.push(g);
        if (!input.requiresGrad) return;
        if (!this.produced.has(input)) return Tape.accumulator.accumulateInto(input, g);
        const previous = grads.get(input);
        if (!previous) return hold(input, g);
        // A sum this pass made and nothing else holds takes g in place: no new tensor to allocate and
        // fill, and the same bits as add.
        if (made.has(previous.storage) && holders.get(previous.storage) === 1) return Tape.accumulator.addInto(previous, g);
        hold(input, Tape.accumulator.add(previous, g));
        unhold(previous);
        spent.push(previous);
      });
      node.outputs.forEach((o, i) => {
        const g = outputGrads[i];
        if (!g || retain.has(o)) return;
        grads.delete(o);
        unhold(g);
        spent.push(g);
      });
      for (const g of spent) releaseIfUnheld(g);
    }
    for (const t of lastUse.get(0) ?? []) this.releaseParked(t);
    return retained.map((t) => grads.get(t) ?? null);
  }

  private releaseParked(t: Tensor): void {
    this.parked.delete(t.storage);
    this.owned.delete(t);
    t.release();
  }

  /** Releases every tensor the tape owns except `keep`, and forgets the recorded ops. */
  dispose(keep: readonly Tensor[] = []): void {
    for (const t of keep) this.owned.delete(t);
    for (const t of this.owned) t.release();
    this.owned.clear();
    this.produced.clear();
    this.saved.clear();
    this.parked.clear();
    this.spent = false;
    this.nodes.length = 0;
  }

  get size(): { nodes: number; owned: number } {
    return { nodes: this.nodes.length, owned: this.owned.size };
  }
}
