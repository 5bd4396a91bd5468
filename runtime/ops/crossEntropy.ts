// Mean softmax cross-entropy of [batch, classes] logits against integer labels.
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';
import { sumRaw } from './reduce.ts';

/** labels: a [batch] tensor of class indices stored as f32 (exact below 2^24). */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  checkShape('cross_entropy', logits.shape.length === 2, () => `logits must be [batch, classes], got [${logits.shape.join(', ')}]`);
  const [rows, cols] = logits.shape as [number, number];
  checkShape('cross_entropy', labels.size === rows, () => `${labels.size} labels for a batch of ${rows}`);
  const rowLoss = Tensor.empty(logits.backend, [rows]);
  const probs = Tensor.empty(logits.backend, logits.shape);
  launch('softmax/cross_entropy_forward', [logits, labels], [rowLoss, probs], { u: [rows, cols], f: [0] }, [rows]);
  const loss = sumRaw(rowLoss, 1 / rows);
  Tape.record('cross_entropy', [logits, labels], [loss], ([g]) => {
    const dlogits = Tensor.empty(logits.backend, logits.shape);
    launch('softmax/cross_entropy_backward', [probs, labels, g!], [dlogits], { u: [rows, cols], f: [1 / rows] }, [rows]);
    return [dlogits, null];
  }, [labels]);
  return loss;
}

/** Class indices as the f32 label tensor crossEntropy takes; rejects out-of-range labels. */
export function labelTensor(backend: Tensor['backend'], labels: ArrayLike<number>, classes: number): Tensor {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    checkShape('cross_entropy', Number.isInteger(l) && l >= 0 && l < classes, () => `label ${l} at ${i} is outside 0..${classes - 1}`);
  }
  return Tensor.from(backend, labels, [labels.length], 'labels');
}
