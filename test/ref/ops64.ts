// Float64 forward reference of every DARTS/SGAS op (SGAS.md §1, §3), NCHW, written for clarity
// not speed. GPU tests use these as an oracle and differentiate them numerically (numericalVjp).
// Every op returns a fresh tensor and never writes to its arguments.

import { type T64, clone, dot, numel, scalar, zeros } from './tensor64.ts';

export const OP_ORDER = [
  'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
  'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5',
] as const;
export type OpName = (typeof OP_ORDER)[number];

/** Named weight tensors of one op, e.g. {dw1, pw1, dw2, pw2} for a SepConv. */
export type Weights = Record<string, T64>;
export type ConvOpts = { stride?: number; pad?: number; dilation?: number; groups?: number };

const outSize = (n: number, k: number, stride: number, pad: number, dilation = 1) =>
  Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;

function nchw(t: T64, what: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new Error(`${what}: expected 4 dims, got [${t.shape}]`);
  return t.shape as [number, number, number, number];
}

function param(w: Weights, name: string): T64 {
  const t = w[name];
  if (!t) throw new Error(`missing weight "${name}" (have: ${Object.keys(w).join(', ') || 'none'})`);
  return t;
}

function map(x: T64, fn: (v: number) => number): T64 {
  const y = zeros(x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = fn(x.data[i]);
  return y;
}

/** Σ_k coef[k]·ts[k] (same shapes). */
function weightedSum(ts: T64[], coef: ArrayLike<number>): T64 {
  const y = zeros(ts[0].shape);
  ts.forEach((t, k) => {
    if (t.data.length !== y.data.length) throw new Error(`sum: [${t.shape}] vs [${y.shape}]`);
    for (let i = 0; i < t.data.length; i++) y.data[i] += coef[k] * t.data[i];
  });
  return y;
}

/**
 * Bias-free cross-correlation, weight [O, I/groups, kh, kw], symmetric zero padding. The one conv
 * core: full convs (stem 3×3, aux 2×2), pointwise (1×1) and depthwise (groups = C) all go through it.
 */
export function conv2d(x: T64, w: T64, { stride = 1, pad = 0, dilation = 1, groups = 1 }: ConvOpts = {}): T64 {
  const [N, C, H, W] = nchw(x, 'conv2d input');
  const [O, Ig, KH, KW] = nchw(w, 'conv2d weight');
  if (Ig * groups !== C || O % groups !== 0) throw new Error(`conv2d: weight [${w.shape}], groups ${groups}, input [${x.shape}]`);
  const OH = outSize(H, KH, stride, pad, dilation), OW = outSize(W, KW, stride, pad, dilation);
  const y = zeros([N, O, OH, OW]);
  const Og = O / groups;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const yBase = (n * O + o) * OH * OW;
    for (let i = 0; i < Ig; i++) {
      const xBase = (n * C + Math.floor(o / Og) * Ig + i) * H * W;
      for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const wv = w.data[((o * Ig + i) * KH + kh) * KW + kw];
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * stride - pad + kh * dilation;
          if (ih < 0 || ih >= H) continue;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * stride - pad + kw * dilation;
            if (iw >= 0 && iw < W) y.data[yBase + oh * OW + ow] += wv * x.data[xBase + ih * W + iw];
          }
        }
      }
    }
  }
  return y;
}

/** Training-mode BN over channel dim 1: batch mean, biased variance over N and all trailing dims. */
export function batchNorm(x: T64, gamma?: T64, beta?: T64, eps = 1e-5): T64 {
  const [N, C] = x.shape, S = numel(x.shape.slice(2)), M = N * S;
  const y = zeros(x.shape);
  for (let c = 0; c < C; c++) {
    let mean = 0, vr = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) mean += x.data[(n * C + c) * S + s];
    mean /= M;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) vr += (x.data[(n * C + c) * S + s] - mean) ** 2;
    const scale = (gamma ? gamma.data[c] : 1) / Math.sqrt(vr / M + eps), shift = beta ? beta.data[c] : 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      y.data[i] = (x.data[i] - mean) * scale + shift;
    }
  }
  return y;
}

export const relu = (x: T64): T64 => map(x, (v) => (v > 0 ? v : 0));

/** Square k×k window pooling; padded taps are skipped (max: −∞ padding; avg: count_include_pad=False unless asked). */
function pool2d(x: T64, k: number, stride: number, pad: number, kind: 'max' | 'avg', countIncludePad = false): T64 {
  const [N, C, H, W] = nchw(x, `${kind} pool input`);
  const OH = outSize(H, k, stride, pad), OW = outSize(W, k, stride, pad);
  const y = zeros([N, C, OH, OW]);
  for (let nc = 0; nc < N * C; nc++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let acc = kind === 'max' ? -Infinity : 0, taps = 0;
    for (let kh = 0; kh < k; kh++) for (let kw = 0; kw < k; kw++) {
      const ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const v = x.data[(nc * H + ih) * W + iw];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
      taps++;
    }
    y.data[(nc * OH + oh) * OW + ow] = kind === 'max' ? acc : acc / (countIncludePad ? k * k : taps);
  }
  return y;
}

export const maxPool3x3 = (x: T64, stride: number): T64 => pool2d(x, 3, stride, 1, 'max');

/** 3×3 pad 1 in the search space; 5×5 stride 3 pad 0 in the CIFAR auxiliary head. */
export const avgPool = (x: T64, k: number, stride: number, pad: number, countIncludePad = false): T64 =>
  pool2d(x, k, stride, pad, 'avg', countIncludePad);

/** [N, C, H, W] → [N, C] (AdaptiveAvgPool2d(1) + flatten). */
export function globalAvgPool(x: T64): T64 {
  const [N, C, H, W] = nchw(x, 'globalAvgPool input');
  const y = zeros([N, C]);
  for (let nc = 0; nc < N * C; nc++) {
    let s = 0;
    for (let i = 0; i < H * W; i++) s += x.data[nc * H * W + i];
    y.data[nc] = s / (H * W);
  }
  return y;
}

/** x[:, :, top:, left:] */
export function crop(x: T64, top: number, left: number): T64 {
  const [N, C, H, W] = nchw(x, 'crop input');
  const OH = H - top, OW = W - left;
  const y = zeros([N, C, OH, OW]);
  for (let nc = 0; nc < N * C; nc++) for (let h = 0; h < OH; h++) for (let w = 0; w < OW; w++)
    y.data[(nc * OH + h) * OW + w] = x.data[(nc * H + h + top) * W + w + left];
  return y;
}

/** Channel (dim 1) concatenation; all other dims must agree. */
export function concat(xs: T64[]): T64 {
  const [N] = xs[0].shape, rest = xs[0].shape.slice(2), S = numel(rest);
  for (const x of xs)
    if (x.shape[0] !== N || x.shape.slice(2).join() !== rest.join()) throw new Error(`concat: [${x.shape}] vs [${xs[0].shape}]`);
  const C = xs.reduce((a, x) => a + x.shape[1], 0);
  const y = zeros([N, C, ...rest]);
  let offset = 0;
  for (const x of xs) {
    const Cx = x.shape[1];
    for (let n = 0; n < N; n++) y.data.set(x.data.subarray(n * Cx * S, (n + 1) * Cx * S), (n * C + offset) * S);
    offset += Cx;
  }
  return y;
}

/** Zero(stride): x[:, :, ::s, ::s]·0, i.e. zeros of shape ceil(H/s) × ceil(W/s). */
export function zero(x: T64, stride: number): T64 {
  const [N, C, H, W] = nchw(x, 'zero input');
  return zeros([N, C, Math.ceil(H / stride), Math.ceil(W / stride)]);
}

/** ReLU → conv(k, stride, pad) → BN(affine=False); 1×1 as cell preprocessing. */
export const reluConvBn = (x: T64, w: T64, opts: ConvOpts = {}): T64 => batchNorm(conv2d(relu(x), w, opts));

/** ReLU, then conv1 (stride 2) on it and conv2 (stride 2) on it shifted by one pixel, concat, BN. Needs even H, W. */
export function factorizedReduce(x: T64, conv1: T64, conv2: T64): T64 {
  const r = relu(x);
  const a = conv2d(r, conv1, { stride: 2 }), b = conv2d(crop(r, 1, 1), conv2, { stride: 2 });
  if (a.shape.slice(2).join() !== b.shape.slice(2).join())
    throw new Error(`factorizedReduce: halves [${a.shape}] and [${b.shape}] (odd H or W)`);
  return batchNorm(concat([a, b]));
}

/** ReLU → depthwise k×k (stride, pad, dilation) → pointwise → BN: DilConv, and each half of SepConv. */
function reluDwPwBn(x: T64, dw: T64, pw: T64, k: number, stride: number, pad: number, dilation: number): T64 {
  if (dw.shape[2] !== k || dw.shape[3] !== k) throw new Error(`expected a ${k}×${k} depthwise weight, got [${dw.shape}]`);
  return batchNorm(conv2d(conv2d(relu(x), dw, { stride, pad, dilation, groups: x.shape[1] }), pw));
}

/** SepConv: two ReLU-dw-pw-BN halves, weights {dw1, pw1, dw2, pw2}; only the first dw carries the stride. */
export function sepConv(x: T64, w: Weights, k: number, stride: number): T64 {
  const h = reluDwPwBn(x, param(w, 'dw1'), param(w, 'pw1'), k, stride, k >> 1, 1);
  return reluDwPwBn(h, param(w, 'dw2'), param(w, 'pw2'), k, 1, k >> 1, 1);
}

/** DilConv: ReLU-dw(dilation 2, pad k−1)-pw-BN, weights {dw, pw}. */
export const dilConv = (x: T64, w: Weights, k: number, stride: number): T64 =>
  reluDwPwBn(x, param(w, 'dw'), param(w, 'pw'), k, stride, k - 1, 2);

/**
 * One candidate op by name (SGAS.md §1.1). `poolBn`: the search-time BN(affine=False) after pools
 * (MixedOp adds it; the final network does not). skip_connect at stride 2 is FactorizedReduce {conv1, conv2}.
 */
export function primitive(name: OpName, x: T64, w: Weights, stride: number, poolBn = true): T64 {
  switch (name) {
    case 'none': return zero(x, stride);
    case 'max_pool_3x3': { const y = maxPool3x3(x, stride); return poolBn ? batchNorm(y) : y; }
    case 'avg_pool_3x3': { const y = avgPool(x, 3, stride, 1); return poolBn ? batchNorm(y) : y; }
    case 'skip_connect': return stride === 1 ? clone(x) : factorizedReduce(x, param(w, 'conv1'), param(w, 'conv2'));
    case 'sep_conv_3x3': return sepConv(x, w, 3, stride);
    case 'sep_conv_5x5': return sepConv(x, w, 5, stride);
    case 'dil_conv_3x3': return dilConv(x, w, 3, stride);
    case 'dil_conv_5x5': return dilConv(x, w, 5, stride);
    default: throw new Error(`unknown op ${name satisfies never}`);
  }
}

/** Σ_k opWeights[k]·op_k(x) over OP_ORDER, pools followed by BN (MixedOp with given softmax weights). */
export function mixedOpWeighted(x: T64, opWeights: T64, weightsByOp: Partial<Record<OpName, Weights>>, stride: number): T64 {
  if (opWeights.data.length !== OP_ORDER.length) throw new Error(`mixedOp: ${opWeights.data.length} op weights`);
  return weightedSum(OP_ORDER.map((op) => primitive(op, x, weightsByOp[op] ?? {}, stride)), opWeights.data);
}

/** MixedOp of an undecided edge: y = Σ_k softmax(alphas)_k·op_k(x). */
export const mixedOp = (x: T64, alphas: T64, weightsByOp: Partial<Record<OpName, Weights>>, stride: number): T64 =>
  mixedOpWeighted(x, softmax(alphas), weightsByOp, stride);

/** Groups flat names "<prefix><op>.<param>" (golden / network naming) into per-op weights. */
export function splitOpWeights(flat: Record<string, T64>, prefix = ''): Partial<Record<OpName, Weights>> {
  const byOp: Partial<Record<OpName, Weights>> = {};
  for (const [key, t] of Object.entries(flat)) {
    if (!key.startsWith(prefix)) continue;
    const [op, name] = key.slice(prefix.length).split('.') as [OpName, string];
    if (!OP_ORDER.includes(op) || !name) throw new Error(`splitOpWeights: "${key}"`);
    (byOp[op] ??= {})[name] = t;
  }
  return byOp;
}

/** x [B, in] · weightᵀ [in, out] + bias [out]. */
export function linear(x: T64, weight: T64, bias?: T64): T64 {
  const [B, I] = x.shape, [O, I2] = weight.shape;
  if (I !== I2) throw new Error(`linear: input [${x.shape}], weight [${weight.shape}]`);
  const y = zeros([B, O]);
  for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) {
    let s = bias ? bias.data[o] : 0;
    for (let i = 0; i < I; i++) s += x.data[b * I + i] * weight.data[o * I + i];
    y.data[b * O + o] = s;
  }
  return y;
}

/** Softmax over the last dim (each row of alphas [14, 8]; a single [8] vector is one row). */
export function softmax(x: T64): T64 {
  const K = x.shape[x.shape.length - 1], y = zeros(x.shape);
  for (let r = 0; r < x.data.length / K; r++) {
    const row = x.data.subarray(r * K, (r + 1) * K);
    const m = Math.max(...row);
    let z = 0;
    for (let k = 0; k < K; k++) z += (y.data[r * K + k] = Math.exp(row[k] - m));
    for (let k = 0; k < K; k++) y.data[r * K + k] /= z;
  }
  return y;
}

/** Mean over the batch of −log softmax(logits)[target]; a scalar (shape []). */
export function crossEntropy(logits: T64, targets: readonly number[]): T64 {
  const [B, K] = logits.shape;
  if (targets.length !== B) throw new Error(`crossEntropy: ${targets.length} targets for [${logits.shape}]`);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = logits.data.subarray(b * K, (b + 1) * K), m = Math.max(...row);
    loss += m + Math.log(row.reduce((z, v) => z + Math.exp(v - m), 0)) - row[targets[b]];
  }
  return scalar(loss / B);
}

/**
 * d(Σ f(inputs) ⊙ upstream)/d(inputs[i]) for every input, by central differences in float64 (the
 * VJP the GPU backward kernels are checked against). `f` must be pure; each input element is
 * perturbed in place and restored bit-exactly. `elements[i]`, when given, lists the flat indices of
 * input i to differentiate (others come back NaN so they cannot be compared by accident; [] skips it).
 */
export function numericalVjp(
  f: (inputs: T64[]) => T64, inputs: T64[], upstream: T64, h = 1e-6,
  elements?: readonly (readonly number[] | undefined)[],
): T64[] {
  const y = f(inputs);
  if (y.shape.join() !== upstream.shape.join()) throw new Error(`numericalVjp: f gives [${y.shape}], upstream is [${upstream.shape}]`);
  return inputs.map((t, i) => {
    const g = zeros(t.shape), only = elements?.[i];
    if (only) g.data.fill(NaN);
    for (const j of only ?? t.data.keys()) {
      const v = t.data[j];
      t.data[j] = v + h;
      const up = dot(f(inputs), upstream);
      t.data[j] = v - h;
      const down = dot(f(inputs), upstream);
      t.data[j] = v;
      g.data[j] = (up - down) / ((v + h) - (v - h));
    }
    return g;
  });
}
