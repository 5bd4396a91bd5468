// Moving NCHW data between ops (channel concat, crop, the Zero op) and MixedOp's weighted sum of
// its branches (SGAS.md §1.1–1.3).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

const describe = (t: Tensor) => `[${t.shape.join(', ')}]`;

function nchw(op: string, x: Tensor): [number, number, number, number] {
  checkShape(op, x.shape.length === 4, () => `expects an NCHW input, got ${describe(x)}`);
  return x.shape as [number, number, number, number];
}

/** Concatenation along channels (dim 1) of NCHW tensors that agree in N, H and W. */
export function concatChannels(xs: readonly Tensor[]): Tensor {
  checkShape('concat_channels', xs.length > 0, () => 'needs at least one tensor');
  const [N, , H, W] = nchw('concat_channels', xs[0]!);
  for (const x of xs) {
    const [n, , h, w] = nchw('concat_channels', x);
    checkShape('concat_channels', n === N && h === H && w === W, () =>
      `${describe(x)} does not match ${describe(xs[0]!)} outside the channel dimension`);
  }
  const C = xs.reduce((sum, x) => sum + x.shape[1]!, 0);
  const out = Tensor.empty(xs[0]!.backend, [N, C, H, W]);
  // Each input is one block of every image: its length, the image's length, its offset (in floats).
  let channel = 0;
  const blocks = xs.map((x) => {
    const u = [x.size, x.shape[1]! * H * W, C * H * W, channel * H * W];
    channel += x.shape[1]!;
    return u;
  });
  xs.forEach((x, i) => launch('layout/concat_forward', [x], [out], { u: blocks[i] }, [x.size]));
  Tape.record('concat_channels', xs, [out], ([g]) =>
    xs.map((x, i) => {
      if (!x.requiresGrad) return null;
      const dx = Tensor.empty(x.backend, x.shape);
      launch('layout/concat_backward', [g!], [dx], { u: blocks[i] }, [x.size]);
      return dx;
    }), []);
  return out;
}

/**
 * The Zero op ('none'): zeros shaped like x[:, :, ::stride, ::stride], i.e. N, C, ceil(H/s), ceil(W/s).
 * Its output does not depend on x, so nothing is recorded: x's gradient through it is exactly zero,
 * and ops downstream see a constant they need no gradient for.
 */
export function zero(x: Tensor, stride: number): Tensor {
  const [N, C, H, W] = nchw('zero', x);
  checkShape('zero', Number.isInteger(stride) && stride > 0, () => `stride ${stride} must be a positive integer`);
  return Tensor.zeros(x.backend, [N, C, Math.ceil(H / stride), Math.ceil(W / stride)]);
}

/** x[:, :, top:, left:] (FactorizedReduce's shifted branch); its backward zero-pads the gradient. */
export function crop(x: Tensor, top: number, left: number): Tensor {
  const [N, C, H, W] = nchw('crop', x);
  checkShape('crop', [top, left].every((v) => Number.isInteger(v) && v >= 0) && top < H && left < W, () =>
    `top ${top} and left ${left} must be integers in [0, ${H}) and [0, ${W}) for input ${describe(x)}`);
  const out = Tensor.empty(x.backend, [N, C, H - top, W - left]);
  const geometry = [H, W, H - top, W - left, top, left];
  launch('layout/crop_forward', [x], [out], { u: [out.size, ...geometry] }, [out.size]);
  Tape.record('crop', [x], [out], ([g]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('layout/crop_backward', [g!], [dx], { u: [x.size, ...geometry] }, [x.size]);
    return [dx];
  }, []);
  return out;
}

// Branches per forward dispatch: with the weights and the output that makes 8 storage buffers,
// the least any WebGPU device offers (maxStorageBuffersPerShaderStage); as many branch gradients
// per dispatch where the weights take none (weights, g, six gradients). The backward takes two
// branches per dispatch for the same reason (weights, g, 2 branches, partials, 2 gradients).
const FORWARD_BRANCHES = 6;
const BACKWARD_BRANCHES = 2;
// Chunks of the weight gradients' dot products (first stage of a deterministic two-stage sum).
const DOT_CHUNKS = 4096;

/**
 * MixedOp's Σ_k w[k]·branch_k over same-shape branches; `weights` holds one value per branch on the
 * GPU (any shape, e.g. a [1, k] row sliced from softmax(alphas)). Gradients: w[k]·g for branch k,
 * and Σ g⊙branch_k for w[k] (only these read the branches, so only they keep them).
 */
export function weightedSum(branches: readonly Tensor[], weights: Tensor): Tensor {
  const K = branches.length;
  checkShape('weighted_sum', K > 0, () => 'needs at least one branch');
  checkShape('weighted_sum', weights.size === K, () => `${K} branches but weights ${describe(weights)}`);
  const shape = branches[0]!.shape;
  for (const b of branches) {
    checkShape('weighted_sum', b.shape.length === shape.length && b.shape.every((d, i) => d === shape[i]), () =>
      `branch ${describe(b)} differs from branch ${describe(branches[0]!)}`);
  }
  const backend = weights.backend;
  const n = branches[0]!.size;
  const out = Tensor.empty(backend, shape);
  // Σ_k w[first + k]·group_k into out (added to what is there when accumulate).
  const sumInto = (out: Tensor, group: readonly Tensor[], first: number, accumulate: boolean) => {
    // Unused slots repeat the group's last branch; the kernel skips them.
    const slots = Array.from({ length: FORWARD_BRANCHES }, (_, s) => group[Math.min(s, group.length - 1)]!);
    launch('layout/weighted_sum_forward', [weights, ...slots], [out], { u: [n, first, group.length, accumulate ? 1 : 0], flops: 2 * n * group.length }, [n]);
  };
  for (let k = 0; k < K; k += FORWARD_BRANCHES) sumInto(out, branches.slice(k, k + FORWARD_BRANCHES), k, k > 0);
  // The branches are read back only for the weights' gradients: without those, nothing keeps them.
  const saves = weights.requiresGrad ? [weights, ...branches] : [weights];
  Tape.record('weighted_sum', [...branches, weights], [out], ([g]) => {
    if (!weights.requiresGrad) {
      const grads = branches.map((b) => Tensor.empty(backend, b.shape));
      for (let k = 0; k < K; k += FORWARD_BRANCHES) {
        const group = grads.slice(k, k + FORWARD_BRANCHES);
        // Slots past the group are placeholders: a buffer may back only one writable binding.
        const placeholders = Array.from({ length: FORWARD_BRANCHES - group.length }, () => Tensor.empty(backend, [1]));
        launch('layout/weighted_sum_scale', [weights, g!], [...group, ...placeholders], { u: [n, k, group.length, 0], flops: n * group.length }, [n]);
        for (const p of placeholders) p.release();
      }
      return [...grads.map((gk, k) => {
        if (branches[k]!.requiresGrad) return gk;
        gk.release();
        return null;
      }), null];
    }
    const chunks = Math.min(n, DOT_CHUNKS);
    const partials = Tensor.empty(backend, [K, chunks]);
    const grads = branches.map((b) => Tensor.empty(backend, b.shape));
    for (let k = 0; k < K; k += BACKWARD_BRANCHES) {
      const pair = k + 1 < K;
      const placeholder = pair ? null : Tensor.empty(backend, [1]);
      launch('layout/weighted_sum_backward', [weights, g!, branches[k]!, branches[pair ? k + 1 : k]!],
        [partials, grads[k]!, pair ? grads[k + 1]! : placeholder!], { u: [n, k, pair ? 2 : 1, chunks], flops: 3 * n * (pair ? 2 : 1) }, [chunks]);
      placeholder?.release();
    }
    const dw = Tensor.empty(backend, weights.shape);
    launch('layout/weighted_sum_weight_grad', [partials], [dw], { u: [n, 0, K, chunks] }, [K]);
    partials.release();
    const branchGrads = grads.map((gk, k) => {
      if (branches[k]!.requiresGrad) return gk;
      gk.release();
      return null;
    });
    return [...branchGrads, dw];
  }, saves);
  return out;
}
