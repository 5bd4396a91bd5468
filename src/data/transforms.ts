// Host-side image transforms on NCHW float arrays: resizing a dataset once, and the random
// crop-with-padding and horizontal flip of each training batch.
import type { Rng } from '../../runtime/rng.ts';
import type { Batch } from './batches.ts';
import type { Dataset } from './dataset.ts';

/** Bilinear resize (PyTorch's align_corners=False convention) of every image to size × size. */
export function resizeDataset(data: Dataset, size: number): Dataset {
  if (size === data.height && size === data.width) return data;
  const images = resizePlanes(data.images, data.n * data.channels, data.height, data.width, size, size);
  return { ...data, images, height: size, width: size };
}

/** Bilinear resize (align_corners=False) of `planes` consecutive H×W planes to outH × outW. */
export function resizePlanes(images: Float32Array, planes: number, H: number, W: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(planes * outH * outW);
  const axis = (inSize: number, size: number) =>
    Array.from({ length: size }, (_, o) => {
      const src = Math.max(0, ((o + 0.5) * inSize) / size - 0.5);
      const lo = Math.min(Math.floor(src), inSize - 1);
      return { lo, hi: Math.min(lo + 1, inSize - 1), t: src - lo };
    });
  const ys = axis(H, outH);
  const xs = axis(W, outW);
  for (let plane = 0; plane < planes; plane++) {
    const src = images.subarray(plane * H * W, (plane + 1) * H * W);
    const dst = out.subarray(plane * outH * outW, (plane + 1) * outH * outW);
    for (let oy = 0; oy < outH; oy++) {
      const y = ys[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const x = xs[ox]!;
        const top = src[y.lo * W + x.lo]! * (1 - x.t) + src[y.lo * W + x.hi]! * x.t;
        const bottom = src[y.hi * W + x.lo]! * (1 - x.t) + src[y.hi * W + x.hi]! * x.t;
        dst[oy * outW + ox] = top * (1 - y.t) + bottom * y.t;
      }
    }
  }
  return out;
}

/** The first n images (a deterministic subset). */
export function firstImages(data: Dataset, n: number): Dataset {
  if (!n || n >= data.n) return data;
  const per = data.channels * data.height * data.width;
  return { ...data, n, images: data.images.subarray(0, n * per), labels: data.labels.subarray(0, n) };
}

/**
 * In place: each image shifted by a random offset within ±padding (zero fill, as a random crop
 * of the zero-padded image) and flipped left-right with probability ½.
 */
export function augmentBatch(batch: Batch, rng: Rng, padding: number, flip: boolean): void {
  const [N, C, H, W] = batch.shape;
  const plane = new Float32Array(H * W);
  for (let i = 0; i < N; i++) {
    const dy = padding ? rng.int(2 * padding + 1) - padding : 0;
    const dx = padding ? rng.int(2 * padding + 1) - padding : 0;
    const mirror = flip && rng.next() < 0.5;
    if (!dy && !dx && !mirror) continue;
    for (let c = 0; c < C; c++) {
      const img = batch.images.subarray(((i * C + c) * H) * W, ((i * C + c + 1) * H) * W);
      plane.set(img);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const sy = y + dy;
          const sxRaw = x + dx;
          const sx = mirror ? W - 1 - sxRaw : sxRaw;
          img[y * W + x] = sy >= 0 && sy < H && sxRaw >= 0 && sxRaw < W ? plane[sy * W + sx]! : 0;
        }
      }
    }
  }
}

/**
 * In place: Cutout (DARTS/SGAS utils.Cutout, applied after normalisation) zeroes one square of
 * every image, all channels. The centre is uniform over the pixels and the square spans
 * [centre − ⌊length/2⌋, centre + ⌊length/2⌋) on each axis, clipped at the borders, so it is
 * length × length inside the image (length − 1 for an odd length, as in the reference) and smaller
 * where it overhangs an edge.
 */
export function cutoutBatch(batch: Batch, rng: Rng, length: number): void {
  const [N, C, H, W] = batch.shape;
  const half = Math.floor(length / 2);
  for (let i = 0; i < N; i++) {
    const cy = rng.int(H);
    const cx = rng.int(W);
    const [y1, y2] = [Math.max(0, cy - half), Math.min(H, cy + half)];
    const [x1, x2] = [Math.max(0, cx - half), Math.min(W, cx + half)];
    for (let c = 0; c < C; c++) {
      const img = batch.images.subarray((i * C + c) * H * W, (i * C + c + 1) * H * W);
      for (let y = y1; y < y2; y++) img.fill(0, y * W + x1, y * W + x2);
    }
  }
}
