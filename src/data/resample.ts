// Separable image resampling: each output row and column is a weighted sum of a few source rows
// and columns, so one routine serves both filters, float planes (datasets) and interleaved bytes
// (decoded images).

export const RESIZE_FILTERS = ['area', 'bilinear'] as const;
export type ResizeFilter = (typeof RESIZE_FILTERS)[number];

/** The source indices and weights of each output position along one axis. */
type Taps = { index: number[][]; weights: number[][] };

/**
 * area: the mean over the source interval [o·s, (o+1)·s), s = in/out, each source pixel weighted
 * by its overlap (box filter; antialiased when shrinking). bilinear: PyTorch's align_corners=False,
 * two taps, no antialiasing.
 */
function axisTaps(inSize: number, outSize: number, filter: ResizeFilter): Taps {
  const index: number[][] = [];
  const weights: number[][] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (filter === 'bilinear') {
      const src = Math.max(0, (o + 0.5) * scale - 0.5);
      const lo = Math.min(Math.floor(src), inSize - 1);
      const t = src - lo;
      index.push([lo, Math.min(lo + 1, inSize - 1)]);
      weights.push([1 - t, t]);
      continue;
    }
    const start = o * scale;
    const end = (o + 1) * scale;
    const lo = Math.floor(start);
    const hi = Math.min(inSize, Math.ceil(end - 1e-9));
    index.push(Array.from({ length: hi - lo }, (_, k) => lo + k));
    weights.push(index[o]!.map((i) => (Math.min(end, i + 1) - Math.max(start, i)) / scale));
  }
  return { index, weights };
}

/** Where the planes of a source image lie: value (plane p, y, x) is at p·planeStride + (y·width + x)·pixelStride. */
export interface SourceLayout {
  planes: number;
  height: number;
  width: number;
  planeStride: number;
  pixelStride: number;
}

/** Every plane of `src` resized to outHeight × outWidth, planes stacked in order, as float64. */
export function resample(src: ArrayLike<number>, layout: SourceLayout, outHeight: number, outWidth: number, filter: ResizeFilter): Float64Array {
  const { planes, height, width, planeStride, pixelStride } = layout;
  const xs = axisTaps(width, outWidth, filter);
  const ys = axisTaps(height, outHeight, filter);
  const rows = new Float64Array(height * outWidth);
  const out = new Float64Array(planes * outHeight * outWidth);
  for (let p = 0; p < planes; p++) {
    const base = p * planeStride;
    for (let y = 0; y < height; y++) {
      const row = base + y * width * pixelStride;
      for (let ox = 0; ox < outWidth; ox++) {
        const w = xs.weights[ox]!;
        const at = xs.index[ox]!;
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += src[row + at[k]! * pixelStride]! * w[k]!;
        rows[y * outWidth + ox] = sum;
      }
    }
    const dst = p * outHeight * outWidth;
    for (let oy = 0; oy < outHeight; oy++) {
      const w = ys.weights[oy]!;
      const at = ys.index[oy]!;
      for (let ox = 0; ox < outWidth; ox++) {
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += rows[at[k]! * outWidth + ox]! * w[k]!;
        out[dst + oy * outWidth + ox] = sum;
      }
    }
  }
  return out;
}
