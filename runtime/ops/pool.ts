// Pooling over NCHW (SGAS.md §1.1, §3): max and average k×k windows, and the global average of
// the classifier head. Output size floor((H + 2·pad − k) / stride) + 1, as PyTorch (ceil_mode off).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

export interface PoolWindow {
  kernel: number;
  /** Defaults to `kernel`, as in PyTorch. */
  stride?: number;
  pad?: number;
}

const describe = (t: Tensor) => `[${t.shape.join(', ')}]`;

function nchw(op: string, x: Tensor): [number, number, number, number] {
  checkShape(op, x.shape.length === 4, () => `expects an NCHW input, got ${describe(x)}`);
  return x.shape as [number, number, number, number];
}

/** Output shape and the Params of shaders/pool.wgsl after the leading invocation count. */
function geometry(op: string, x: Tensor, { kernel, stride = kernel, pad = 0 }: PoolWindow) {
  const [N, C, H, W] = nchw(op, x);
  checkShape(op, [kernel, stride].every((v) => Number.isInteger(v) && v > 0) && Number.isInteger(pad) && pad >= 0, () =>
    `kernel ${kernel}, stride ${stride} and pad ${pad} must be integers (kernel, stride ≥ 1, pad ≥ 0)`);
  // Every window then holds an in-image tap, so max and the tap count are always defined.
  checkShape(op, 2 * pad <= kernel, () => `pad ${pad} must be at most half of kernel ${kernel}`);
  const OH = Math.floor((H + 2 * pad - kernel) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - kernel) / stride) + 1;
  checkShape(op, OH > 0 && OW > 0, () => `a ${kernel}×${kernel} window with pad ${pad} does not fit input ${describe(x)}`);
  const planes = N * C;
  return { outShape: [N, C, OH, OW], planes, params: [H, W, OH, OW, kernel, stride, pad] };
}

/**
 * 3×3 max pool (the search space's; other windows are not implemented): padding acts as −∞, and
 * the gradient of each window goes to its first maximum in scan order, as in PyTorch.
 */
export function maxPool2d(x: Tensor, window: PoolWindow): Tensor {
  checkShape('max_pool2d', window.kernel === 3, () => `only 3×3 windows are implemented, got kernel ${window.kernel}`);
  const { outShape, planes, params } = geometry('max_pool2d', x, window);
  const [H, , OH] = params as [number, number, number];
  const y = Tensor.empty(x.backend, outShape);
  const argmax = Tensor.empty(x.backend, outShape);
  launch('pool/max_pool3_forward', [x], [y, argmax], { u: [planes * OH, ...params], flops: 9 * y.size }, [planes * OH]);
  Tape.record('max_pool2d', [x], [y], ([dy]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('pool/max_pool3_backward', [dy!, argmax], [dx], { u: [planes * H, ...params] }, [planes * H]);
    return [dx];
  }, []);
  if (!y.requiresGrad) argmax.release();
  return y;
}

/**
 * Average pool with count_include_pad=False: each window divides by its in-image taps. 3×3 windows
 * (the search space's) run on row-walking kernels, others (the auxiliary head's 5×5) on per-value ones.
 */
export function avgPool2d(x: Tensor, window: PoolWindow): Tensor {
  const { outShape, planes, params } = geometry('avg_pool2d', x, window);
  const [H, , OH] = params as [number, number, number];
  const y = Tensor.empty(x.backend, outShape);
  const rowWalk = window.kernel === 3;
  const [forward, backward] = rowWalk ? ['avg_pool3_forward', 'avg_pool3_backward'] : ['avg_pool_forward', 'avg_pool_backward'];
  const forwardCount = rowWalk ? planes * OH : y.size;
  const backwardCount = rowWalk ? planes * H : x.size;
  const taps = window.kernel * window.kernel;
  launch(`pool/${forward}`, [x], [y], { u: [forwardCount, ...params], flops: taps * y.size }, [forwardCount]);
  Tape.record('avg_pool2d', [x], [y], ([dy]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch(`pool/${backward}`, [dy!], [dx], { u: [backwardCount, ...params], flops: taps * y.size }, [backwardCount]);
    return [dx];
  }, []);
  return y;
}

/** [N, C, H, W] → [N, C]: AdaptiveAvgPool2d(1) then flatten. */
export function globalAvgPool(x: Tensor): Tensor {
  const [N, C, H, W] = nchw('global_avg_pool', x);
  checkShape('global_avg_pool', H * W > 0, () => `input ${describe(x)} has empty planes`);
  const y = Tensor.empty(x.backend, [N, C]);
  const u = [y.size, H, W, 0, 0, 0, 0, 0];
  launch('pool/global_avg_pool_forward', [x], [y], { u }, [y.size]);
  Tape.record('global_avg_pool', [x], [y], ([dy]) => {
    const dx = Tensor.empty(x.backend, x.shape);
    launch('pool/global_avg_pool_backward', [dy!], [dx], { u: [x.size, ...u.slice(1)] }, [x.size]);
    return [dx];
  }, []);
  return y;
}
