// Minibatches as plain arrays: the images of a set of sample indices, ready to upload.
import type { Dataset } from './dataset.ts';

export interface Batch {
  images: Float32Array;
  labels: Float32Array;
  shape: [number, number, number, number];
}

export function gatherBatch(data: Dataset, indices: ArrayLike<number>): Batch {
  const per = data.channels * data.height * data.width;
  const images = new Float32Array(indices.length * per);
  const labels = new Float32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i]!;
    images.set(data.images.subarray(s * per, (s + 1) * per), i * per);
    labels[i] = data.labels[s]!;
  }
  return { images, labels, shape: [indices.length, data.channels, data.height, data.width] };
}

/** Consecutive batches over `order` (the last one may be short unless dropLast). */
export function* batchesOf(order: ArrayLike<number>, batchSize: number, dropLast = false): Generator<number[]> {
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(order.length, start + batchSize);
    if (dropLast && end - start < batchSize) return;
    yield Array.from({ length: end - start }, (_, i) => order[start + i]!);
  }
}
