// Drop path (DARTS/SGAS utils.drop_path, SGAS.md §3): during training each sample of an op's output
// is kept with probability `keep` and then divided by it, or zeroed. The mask is drawn on the host
// from the seeded generator, so a resumed run drops exactly the paths the uninterrupted one would.
import { checkShape } from '../errors.ts';
import type { Rng } from '../rng.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

/** Per-sample multipliers: 1/keep with probability keep, else 0 (Bernoulli(keep)/keep). */
export function dropPathMask(rng: Rng, samples: number, keep: number): Float32Array {
  checkShape('drop_path', keep > 0 && keep <= 1, () => `keep probability ${keep} must be in (0, 1]`);
  return Float32Array.from({ length: samples }, () => (rng.next() < keep ? 1 / keep : 0));
}

/** x [N, ...] with sample n multiplied by mask[n]; the gradient is scaled by the same mask. */
export function scaleSamples(x: Tensor, mask: Tensor): Tensor {
  const N = x.shape[0] ?? 0;
  checkShape('drop_path', x.shape.length >= 1 && mask.size === N, () =>
    `mask of ${mask.size} values for input [${x.shape.join(', ')}] (one per sample expected)`);
  const params = { u: [x.size, x.size / Math.max(1, N)] };
  const out = Tensor.empty(x.backend, x.shape);
  launch('droppath/scale_samples', [x, mask], [out], params, [x.size]);
  Tape.record('drop_path', [x, mask], [out], ([g]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('droppath/scale_samples', [g!, mask], [dx], params, [x.size]);
    return [dx, null];
  }, [mask]);
  return out;
}

/** Drops whole samples of x with probability 1 − keep, scaling the survivors by 1/keep. */
export function dropPath(x: Tensor, keep: number, rng: Rng): Tensor {
  const mask = Tensor.from(x.backend, dropPathMask(rng, x.shape[0] ?? 0, keep), [x.shape[0] ?? 0], 'drop_path_mask');
  const out = scaleSamples(x, mask);
  // Under a tape the mask is the tape's to release with the step; otherwise nothing else holds it.
  if (!Tape.current) mask.release();
  return out;
}
