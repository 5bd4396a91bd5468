// BatchNorm2d over NCHW with PyTorch's semantics (SGAS.md §1.1): training mode normalises with the
// batch mean and biased variance over (N, H, W) and may update running statistics in place on the
// GPU; eval mode normalises with the running statistics, a per-channel affine map.
// The backward needs x̂ = (x − μ)/σ. An affine-free BatchNorm (the search network's) keeps its output,
// which is x̂ itself: its input can then go as soon as its maker is done with it (a convolution's
// output, usually), and the output is what the next ops keep anyway. An affine one keeps its input
// (x̂ from y would divide by γ).
import type { Backend } from '../backend.ts';
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

export interface RunningStats {
  mean: Tensor;
  /** Unbiased (n/(n−1)) estimate, as PyTorch keeps it. */
  variance: Tensor;
}

export interface BatchNormOptions {
  training: boolean;
  /** Affine scale and shift ([C] each); give both or neither. */
  gamma?: Tensor;
  beta?: Tensor;
  /** Training mode updates them in place (running = (1 − momentum)·running + momentum·batch); eval mode reads them. */
  running?: RunningStats;
  momentum?: number;
  eps?: number;
}

/** Running statistics of `channels` channels as PyTorch starts them (mean 0, variance 1), owned by the caller. */
export function runningStats(backend: Backend, channels: number): RunningStats {
  return Tape.outside(() => ({
    mean: Tensor.zeros(backend, [channels], 'running_mean'),
    variance: Tensor.full(backend, [channels], 1, 'running_var'),
  }));
}

// The first stage of a per-channel reduction runs about this many invocations over all channels.
const PARALLEL_CHUNKS = 4096;

const describe = (t: Tensor) => `[${t.shape.join(', ')}]`;

export function batchNorm(x: Tensor, options: BatchNormOptions): Tensor {
  const { training, gamma, beta, running, momentum = 0.1, eps = 1e-5 } = options;
  checkShape('batch_norm', x.shape.length === 4, () => `expects an NCHW input, got ${describe(x)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const plane = H * W;
  checkShape('batch_norm', !gamma === !beta, () => 'gamma and beta must be given together');
  for (const [name, t] of [['gamma', gamma], ['beta', beta], ['running mean', running?.mean], ['running variance', running?.variance]] as const) {
    checkShape('batch_norm', !t || (t.shape.length === 1 && t.shape[0] === C), () => `${name} is ${describe(t!)}, expected [${C}] for input ${describe(x)}`);
  }
  checkShape('batch_norm', training || running !== undefined, () => 'eval mode needs running statistics');
  checkShape('batch_norm', !training || N * plane > 1, () => `training needs more than one value per channel, got input ${describe(x)}`);

  const backend = x.backend;
  const chunks = Math.min(plane, Math.ceil(PARALLEL_CHUNKS / C));
  const params = { u: [x.size, C, plane, N, chunks, training ? 1 : 0], f: [eps, momentum] };
  const work = (perValue: number) => ({ ...params, flops: perValue * x.size });
  // (mean, 1/σ) per channel: from the batch in training mode, from the running statistics in eval mode.
  const stats = Tensor.empty(backend, [C, 2]);
  if (training) {
    const partials = Tensor.empty(backend, [C, chunks, 2]);
    launch('batchnorm/bn_moments', [x], [partials], work(4), [C * chunks]);
    // A recomputed forward has already updated the running statistics once.
    if (running && !Tape.recomputing) launch('batchnorm/bn_stats_running', [x, partials], [stats, running.mean, running.variance], params, [C]);
    else launch('batchnorm/bn_stats', [x, partials], [stats], params, [C]);
    partials.release();
  } else {
    launch('batchnorm/bn_running_stats', [running!.mean, running!.variance], [stats], params, [C]);
  }

  const y = Tensor.empty(backend, x.shape);
  if (gamma && beta) launch('batchnorm/bn_normalize_affine', [x, stats, gamma, beta], [y], work(4), [x.size]);
  else launch('batchnorm/bn_normalize', [x, stats], [y], work(2), [x.size]);

  const inputs = gamma && beta ? [x, gamma, beta] : [x];
  const ofOutput = !gamma;
  const kept = ofOutput ? y : x;
  Tape.record('batch_norm', inputs, [y], ([dy]) => {
    const partials = Tensor.empty(backend, [C, chunks, 2]);
    launch(`batchnorm/bn_grad_partials${ofOutput ? '_of_output' : ''}`, [kept, stats, dy!], [partials], work(3), [C * chunks]);
    // Per channel (a, μ, mean(dy), k) with dx = a·(dy − mean(dy) − (x − μ)·k); see batchnorm.wgsl.
    const coef = Tensor.empty(backend, [C, 4]);
    let dgamma: Tensor | null = null;
    let dbeta: Tensor | null = null;
    if (gamma) {
      dgamma = Tensor.empty(backend, [C]);
      dbeta = Tensor.empty(backend, [C]);
      launch('batchnorm/bn_grad_coef_affine', [partials, stats, gamma], [coef, dgamma, dbeta], params, [C]);
    } else {
      launch(`batchnorm/bn_grad_coef${ofOutput ? '_of_output' : ''}`, [partials, stats], [coef], params, [C]);
    }
    partials.release();
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(backend, x.shape);
      launch('batchnorm/bn_backward', [kept, coef, dy!], [dx], work(4), [x.size]);
    }
    coef.release();
    return [dx, dgamma, dbeta];
  }, [kept]);
  // Nothing will run the backward, so the saved statistics can go now.
  if (!y.requiresGrad) stats.release();
  return y;
}
