// CIFAR-10-shaped synthetic data: the binary batches (data_batch_1..5.bin, test_batch.bin) of
// 32×32×3 images with random pixels and labels, for timing the paper's search where the real data
// is not at hand (bench/gpu.sh). Seeded, so every run gets the same bytes.
//   node bench/syntheticCifar.mjs DIR [TRAINING_IMAGES=50000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, count = '50000'] = process.argv.slice(2);
const images = Number(count);
if (!dir || !Number.isInteger(images) || images < 5) {
  console.error('usage: node bench/syntheticCifar.mjs DIR [TRAINING_IMAGES >= 5]');
  process.exit(2);
}
const RECORD = 1 + 3 * 32 * 32;
let state = 0x9e3779b9;
// xorshift32: fast and seeded; the values only need to fill the images.
const next = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), state >>> 0);

function batch(n) {
  const bytes = new Uint8Array(n * RECORD);
  for (let i = 0; i < bytes.length; i += 4) {
    const v = next();
    bytes[i] = v;
    bytes[i + 1] = v >>> 8;
    bytes[i + 2] = v >>> 16;
    bytes[i + 3] = v >>> 24;
  }
  for (let r = 0; r < n; r++) bytes[r * RECORD] = next() % 10;
  return bytes;
}

mkdirSync(dir, { recursive: true });
const perBatch = Math.floor(images / 5);
for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `data_batch_${i}.bin`), batch(i === 5 ? images - 4 * perBatch : perBatch));
writeFileSync(join(dir, 'test_batch.bin'), batch(Math.min(10000, perBatch)));
console.log(`${dir}: ${images} training and ${Math.min(10000, perBatch)} test images, CIFAR-10 binary format, random pixels and labels`);
