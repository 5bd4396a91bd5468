// 2-D convolution of NCHW tensors, PyTorch's conv2d without bias. The weight's shape picks the kernel:
// depthwise (groups = C, weight [C, 1, kh, kw]) and dense (groups = 1) run shaders/conv.wgsl;
// 1×1 stride-1 convolutions are per-image matrix products on the strided GEMM. `reluInput` convolves
// relu(x) without making it: the kernels read x through ReLU, so relu(x) is never stored or kept
// (the backward keeps x, which its maker keeps anyway, and masks the input gradient by x > 0).
import { checkShape } from '../errors.ts';
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { registerVariants } from '../kernelVariants.ts';
import { shaderConstant } from '../shaders.ts';
import { launch } from './launch.ts';
import { gemm } from './matmul.ts';
import { sumColumns } from './reduce.ts';

export interface ConvOptions {
  stride?: number;
  pad?: number;
  dilation?: number;
  groups?: number;
  /** Convolves x[:, :, top:, left:] instead of x, without a copy (FactorizedReduce's shifted half). */
  crop?: readonly [top: number, left: number];
  /** Convolves relu(x) (depthwise and dense kernels; not 1×1 stride-1 ones, which run on the GEMM). */
  reluInput?: boolean;
}

type Kind = 'depthwise' | 'pointwise' | 'dense';

interface Geometry {
  kind: Kind;
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number; OH: number; OW: number;
  stride: number; pad: number; dilation: number; top: number; left: number;
  reluInput: boolean;
}

// Pixels (n, oh, ow) one weight-gradient invocation sums before the chunks are added in order:
// enough work per invocation to hide its start, enough invocations to fill a GPU.
const CHUNK_PIXELS = 2048;

const dims = (t: Tensor) => `[${t.shape.join(', ')}]`;

function geometry(x: Tensor, w: Tensor, options: ConvOptions): Geometry {
  const { stride = 1, pad = 0, dilation = 1, groups = 1, crop: [top, left] = [0, 0], reluInput = false } = options;
  const op = 'conv2d';
  checkShape(op, x.shape.length === 4, () => `input must be [N, C, H, W], got ${dims(x)}`);
  checkShape(op, w.shape.length === 4, () => `weight must be [out channels, in channels / groups, kh, kw], got ${dims(w)}`);
  const atLeast = (v: number, min: number) => Number.isInteger(v) && v >= min;
  checkShape(op, atLeast(stride, 1) && atLeast(dilation, 1) && atLeast(groups, 1) && atLeast(pad, 0), () =>
    `stride ${stride}, dilation ${dilation} and groups ${groups} must be integers ≥ 1, pad ${pad} an integer ≥ 0`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  checkShape(op, atLeast(top, 0) && atLeast(left, 0) && top < H && left < W, () =>
    `crop [${top}, ${left}] must leave at least one row and column of input ${dims(x)}`);
  checkShape(op, Cg * groups === C && O % groups === 0 && O > 0 && KH > 0 && KW > 0, () =>
    `weight ${dims(w)} with groups=${groups} does not fit input ${dims(x)} ` +
    `(expects [O, ${C % groups === 0 ? C / groups : `${C}/${groups}`}, kh, kw] with O a multiple of ${groups})`);
  const depthwise = groups > 1 && groups === C && O === C;
  checkShape(op, groups === 1 || depthwise, () =>
    `groups=${groups} with weight ${dims(w)}: only dense (groups 1) and depthwise (groups = channels = outputs, weight [C, 1, kh, kw]) convolutions are supported`);
  const outSize = (n: number, k: number) => Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
  const [OH, OW] = [outSize(H - top, KH), outSize(W - left, KW)];
  checkShape(op, OH > 0 && OW > 0, () =>
    `kernel ${KH}×${KW} with dilation ${dilation} does not fit input ${H - top}×${W - left} padded by ${pad} (input ${dims(x)}, weight ${dims(w)})`);
  const pointwise = !depthwise && KH === 1 && KW === 1 && stride === 1 && pad === 0 && top === 0 && left === 0;
  const kind = depthwise ? 'depthwise' : pointwise ? 'pointwise' : 'dense';
  checkShape(op, !reluInput || kind !== 'pointwise', () => `reluInput is for depthwise and dense kernels; weight ${dims(w)} makes a 1×1 stride-1 convolution (apply relu first)`);
  return { kind, N, C, H, W, O, KH, KW, OH, OW, stride, pad, dilation, top, left, reluInput };
}

const ceil = (a: number, b: number) => Math.ceil(a / b);

// conv/dw_forward_tiled: a workgroup of 64 invocations computes tile_rows × 8·tile_blocks outputs of
// one plane from an input window in workgroup memory (at most DW_TILE floats), so each input value
// is read once instead of once per tap. tile_rows and tile_blocks travel in Params' chunk_rows and
// chunks, which the forward does not use otherwise.
registerVariants('conv/dw_forward', [{
  name: 'tiled',
  prepare(call) {
    const u = call.u!;
    const [n, c, , , , , oh, ow, kh, kw, stride, dilation] = u as number[] as [number, number, number, number, number, number, number, number, number, number, number, number];
    const blocks = Math.min(8, 2 ** Math.ceil(Math.log2(ceil(ow, 8))));
    const rows = Math.min(64 / blocks, oh);
    const wide = (8 * blocks - 1) * stride + (kw - 1) * dilation + 1;
    const high = (rows - 1) * stride + (kh - 1) * dilation + 1;
    if (wide * high > shaderConstant('conv', 'DW_TILE')) return null;
    const tiled = [...u];
    tiled[3] = rows;
    tiled[15] = blocks;
    return { ...call, kernel: 'conv/dw_forward_tiled', u: tiled, threads: [n * c * ceil(oh, rows) * ceil(ow, 8 * blocks) * 64] };
  },
}]);

/**
 * shaders/conv.wgsl Params, with the weight-gradient chunking; every conv kernel does the forward's
 * multiply-adds. Where the convolution is of relu(x), kernels that read x (forward, weight gradient)
 * read it through ReLU, and the input-gradient kernels pass dx through ReLU's gradient as they store it.
 */
function params(g: Geometry, readsX: boolean, chunkRows = 0, chunks = 0): { u: number[]; flops: number } {
  const taps = (g.kind === 'depthwise' ? 1 : g.C) * g.KH * g.KW;
  const relu = g.reluInput ? 1 : 0;
  return {
    u: [g.N, g.C, g.O, chunkRows, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.stride, g.dilation, g.pad, g.top, g.left, chunks, readsX ? relu : 0, readsX ? 0 : relu],
    flops: 2 * g.N * g.O * g.OH * g.OW * taps,
  };
}

function forward(g: Geometry, x: Tensor, w: Tensor): Tensor {
  const y = Tensor.empty(x.backend, [g.N, g.O, g.OH, g.OW]);
  const HW = g.H * g.W;
  if (g.kind === 'pointwise') {
    gemm(w, x, y, { M: g.O, N: HW, KI: g.C, batch: g.N, a: { m: g.C, k: 1 }, b: { batch: g.C * HW, k: HW, n: 1 }, c: { batch: g.O * HW, m: HW } });
  } else if (g.kind === 'depthwise') {
    launch('conv/dw_forward', [x, w], [y], params(g, true), [g.N * g.C * g.OH * ceil(g.OW, 8)]);
  } else {
    launch('conv/dense_forward', [x, w], [y], params(g, true), [g.N * ceil(g.O, 4) * g.OH * ceil(g.OW, 8)]);
  }
  return y;
}

function checkGrad(dy: Tensor, y: Tensor, x: Tensor, w: Tensor): void {
  checkShape('conv2d backward', dy.shape.length === 4 && dy.shape.every((d, i) => d === y.shape[i]), () =>
    `output gradient ${dims(dy)} does not match the output ${dims(y)} of input ${dims(x)} and weight ${dims(w)}`);
}

export function conv2d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  const g = geometry(x, w, options);
  const y = forward(g, x, w);
  Tape.record('conv2d', [x, w], [y], ([dy]) => {
    checkGrad(dy!, y, x, w);
    return [x.requiresGrad ? inputGrad(g, x, dy!, w) : null, w.requiresGrad ? weightGrad(g, x, dy!, w) : null];
  }, [w.requiresGrad || g.reluInput ? x : null, w]);
  return y;
}

/**
 * conv2d(conv2d(x, w1, first), w2, second) keeping only x: the backward computes the inner output
 * again where the outer weight's gradient needs it. For a depthwise conv followed by a pointwise
 * one (SepConv, DilConv) that is a small share of the work, for the memory of one activation per
 * pair; the gradients are the same bits as two conv2d calls give. With `keepInner`, where memory
 * allows, a recording tape keeps the inner output instead and nothing is computed again.
 */
export function conv2dPair(x: Tensor, w1: Tensor, first: ConvOptions, w2: Tensor, second: ConvOptions = {}, { keepInner = false } = {}): Tensor {
  const g1 = geometry(x, w1, first);
  const inner = forward(g1, x, w1);
  const g2 = geometry(inner, w2, second);
  const y = forward(g2, inner, w2);
  const kept = keepInner && Tape.recording && w2.requiresGrad;
  // Before recording: nothing may save it, unless it is kept (the tape owns it, and its dispose releases it).
  if (!kept) inner.release();
  Tape.record('conv2d_pair', [x, w1, w2], [y], ([dy]) => {
    checkGrad(dy!, y, inner, w2);
    let dw2: Tensor | null = null;
    if (w2.requiresGrad) {
      const again = kept ? inner : forward(g1, x, w1);
      dw2 = weightGrad(g2, again, dy!, w2);
      if (!kept) again.release();
    }
    if (!x.requiresGrad && !w1.requiresGrad) return [null, null, dw2];
    const dInner = inputGrad(g2, inner, dy!, w2);
    const grads = [x.requiresGrad ? inputGrad(g1, x, dInner, w1) : null, w1.requiresGrad ? weightGrad(g1, x, dInner, w1) : null, dw2];
    dInner.release();
    return grads;
  }, kept ? [x, w1, w2, inner] : [x, w1, w2]);
  return y;
}

function inputGrad(g: Geometry, x: Tensor, dy: Tensor, w: Tensor): Tensor {
  const dx = Tensor.empty(dy.backend, [g.N, g.C, g.H, g.W]);
  const HW = g.H * g.W;
  // Input pixels of one stride phase share their taps: invocations are (8 columns, phase, row, plane).
  const rowBlocks = g.H * g.stride * ceil(ceil(g.W, g.stride), 8);
  if (g.kind === 'pointwise') {
    gemm(w, dy, dx, { M: g.C, N: HW, KI: g.O, batch: g.N, a: { m: 1, k: g.C }, b: { batch: g.O * HW, k: HW, n: 1 }, c: { batch: g.C * HW, m: HW } });
  } else {
    // (dy, w, x) → dx: x is read only where dx passes ReLU's gradient; otherwise dy stands in for it.
    const inputs = [dy, w, g.reluInput ? x : dy];
    if (g.kind === 'depthwise') launch('conv/dw_backward_input', inputs, [dx], params(g, false), [g.N * g.C * rowBlocks]);
    else launch('conv/dense_backward_input', inputs, [dx], params(g, false), [g.N * ceil(g.C, 4) * rowBlocks]);
  }
  return dx;
}

function weightGrad(g: Geometry, x: Tensor, dy: Tensor, w: Tensor): Tensor {
  const rows = g.N * g.OH;
  if (g.kind === 'pointwise') {
    // Split-K over groups of whole images: the GEMM's outer k runs over the images of a group.
    const HW = g.H * g.W;
    let images = 1;
    for (let d = 1; d <= g.N; d++) if (g.N % d === 0 && d * HW <= CHUNK_PIXELS) images = d;
    const chunks = g.N / images;
    const partial = Tensor.empty(x.backend, [chunks, g.O * g.C]);
    gemm(dy, x, partial, {
      M: g.O, N: g.C, KI: HW, KO: images, batch: chunks,
      a: { batch: images * g.O * HW, m: HW, k: 1, ko: g.O * HW },
      b: { batch: images * g.C * HW, k: 1, n: HW, ko: g.C * HW },
      c: { batch: g.O * g.C, m: g.C },
    });
    return sumChunks(partial, w);
  }
  const chunkRows = Math.max(1, Math.round(CHUNK_PIXELS / g.OW));
  const chunks = ceil(rows, chunkRows);
  const partial = Tensor.empty(x.backend, [chunks, w.size]);
  if (g.kind === 'depthwise') {
    launch('conv/dw_backward_weight', [x, dy], [partial], params(g, true, chunkRows, chunks), [w.size * chunks]);
  } else {
    const blocks = ceil(g.O, 4) * ceil(g.C, 4) * g.KH * g.KW;
    launch('conv/dense_backward_weight', [x, dy], [partial], params(g, true, chunkRows, chunks), [blocks * chunks]);
  }
  return sumChunks(partial, w);
}

/** Adds the [chunks, weights] partial sums in chunk order into a tensor shaped like w. */
function sumChunks(partial: Tensor, w: Tensor): Tensor {
  const [chunks] = partial.shape as [number];
  if (chunks === 1) return partial.reshape(w.shape);
  const total = sumColumns(partial, chunks, w.size);
  partial.release();
  return total.reshape(w.shape);
}
