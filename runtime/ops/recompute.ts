// Recomputation (gradient checkpointing): a block keeps only its inputs and its output after the
// forward; the backward runs the block's forward again, recorded this time, and takes its gradients
// from that. A step then holds one block's activations at a time instead of the whole network's,
// for the price of a second forward. Every kernel is deterministic and ops skip their side effects
// the second time (Tape.recomputing), so the gradients are those of the kept graph; only where one
// tensor feeds several blocks may its gradients be added in another order (the last bits differ).
import { Tape } from '../tape.ts';
import type { Tensor } from '../tensor.ts';

/**
 * block(inputs) with its intermediates released as soon as it returns. `params` are the trainable
 * tensors block reads besides its inputs: their gradients accumulate as usual when the backward
 * reaches the block.
 */
export function recompute(inputs: readonly Tensor[], params: readonly Tensor[], block: (inputs: readonly Tensor[]) => Tensor): Tensor {
  const outer = Tape.current;
  if (!outer) return block(inputs);
  const first = new Tape();
  const out = first.run(() => Tape.noGrad(() => block(inputs)));
  first.keep(out);
  first.dispose();
  outer.own(out);
  Tape.record('recompute', [...inputs, ...params], [out], ([dy]) => {
    // Views of the inputs, so the second forward sees them as leaves and their gradients land on
    // the views' .grad instead of running on through the outer tape's graph.
    const leaves = inputs.map((x) => {
      const leaf = x.reshape(x.shape);
      leaf.requiresGrad = x.requiresGrad;
      return leaf;
    });
    const second = new Tape();
    try {
      const y = second.run(() => Tape.withGrad(true, () => Tape.asRecompute(() => block(leaves))));
      second.backward(y, dy!);
    } finally {
      second.dispose();
    }
    // The views' gradients were made outside any tape: the pass running now owns them.
    const grads = leaves.map((leaf) => (leaf.grad ? (Tape.current!.own(leaf.grad), leaf.grad) : null));
    return [...grads, ...params.map(() => null)];
  });
  return out;
}
