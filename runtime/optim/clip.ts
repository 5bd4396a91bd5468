// torch.nn.utils.clip_grad_norm_: one L2 norm over every gradient, scaled down when above max.
import { launch } from '../ops/launch.ts';
import { sumRaw } from '../ops/reduce.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';

/**
 * Clips in place and returns a [2] tensor [norm before clipping, coefficient applied], left on
 * the GPU so the step needs no readback; the caller reads it when it logs, then releases it.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor | null {
  const withGrad = params.filter((p) => p.grad);
  if (!withGrad.length) return null;
  const backend = withGrad[0]!.backend;
  return Tape.outside(() => {
    const squares = Tensor.empty(backend, [withGrad.length]);
    withGrad.forEach((p, at) => sumRaw(p.grad!, 1, true, { into: squares, at }));
    const normCoef = Tensor.empty(backend, [2]);
    launch('clip/clip_coef', [squares], [normCoef], { u: [0, withGrad.length], f: [maxNorm] }, [1]);
    for (const p of withGrad) launch('clip/scale_by_coef', [normCoef], [p.grad!], { u: [p.size, 0], f: [maxNorm], flops: p.size }, [p.size]);
    squares.release();
    return normCoef;
  });
}
