// Builds the embedded default dataset in data/fashion-mnist/ from the official
// Fashion-MNIST release: the first 10,000 training images and labels (rewritten as IDX
// files whose headers say N=10000), the full 10,000-image test set copied byte for byte,
// and the licence notice. Run once; the outputs are committed.
//
//   node scripts/make-embedded-data.mjs [source-dir]   (default /work/shared/data/fashion-mnist)

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const N = 10_000;
const source = process.argv[2] ?? '/work/shared/data/fashion-mnist';
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist');
mkdirSync(target, { recursive: true });

// Keep the first N items of an IDX file: rewrite the count and cut the body.
function firstItems(name, magic, headerBytes, itemBytes) {
  const idx = gunzipSync(readFileSync(join(source, name)));
  const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${name}: magic 0x${view.getUint32(0).toString(16)}`);
  const total = view.getUint32(4);
  if (total < N || idx.length !== headerBytes + total * itemBytes) throw new Error(`${name}: unexpected size`);
  const out = Buffer.from(idx.subarray(0, headerBytes + N * itemBytes));
  out.writeUInt32BE(N, 4);
  writeFileSync(join(target, name), gzipSync(out, { level: 9 }));
}

firstItems('train-images-idx3-ubyte.gz', 0x803, 16, 28 * 28);
firstItems('train-labels-idx1-ubyte.gz', 0x801, 8, 1);
for (const name of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'COPYRIGHT']) {
  // Read and write rather than copy, so the read-only mode of the source does not follow.
  writeFileSync(join(target, name), readFileSync(join(source, name)));
}
console.log(`wrote ${target}`);
