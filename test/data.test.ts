import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DatasetFileError, type Dataset, type Split } from '../src/data/dataset.ts';
import { embeddedDataset, embeddedFiles } from '../src/data/embedded.ts';
import { embeddedDataDir, loadDataset } from '../src/data/load.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sgas-data-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let dirCount = 0;
/** A fresh directory holding the given files. */
function dirWith(files: Record<string, Uint8Array>): string {
  const dir = join(scratch, String(dirCount++));
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

function expectFileError(dir: string, split: Split, file: string, problem: RegExp): void {
  assert.throws(
    () => loadDataset(dir, split),
    (e: unknown) => {
      assert.ok(e instanceof DatasetFileError, `expected a DatasetFileError, got ${e}`);
      assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
      assert.ok(e.message.includes(file), `message does not name ${file}: ${e.message}`);
      assert.match(e.message, problem);
      assert.match(e.message, /; \S/, 'message has no fix after the problem');
      return true;
    },
  );
}

// The real embedded training files, gunzipped, to corrupt in controlled ways.
const embedded = embeddedDataDir();
const trainImages = gunzipSync(readFileSync(join(embedded, 'train-images-idx3-ubyte.gz')));
const trainLabels = gunzipSync(readFileSync(join(embedded, 'train-labels-idx1-ubyte.gz')));
const IMAGES = 'train-images-idx3-ubyte';
const LABELS = 'train-labels-idx1-ubyte';

function withUint32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

function withByte(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[offset] = value;
  return copy;
}

function histogram(d: Dataset): number[] {
  const counts = new Array(d.classes.length).fill(0);
  for (const l of d.labels) counts[l]++;
  return counts;
}

test('the embedded training subset loads: 10,000 normalised 1×28×28 images, balanced labels', () => {
  const train = loadDataset(undefined, 'train');
  assert.equal(train.name, 'fashion-mnist-train');
  assert.deepEqual([train.n, train.channels, train.height, train.width], [10_000, 1, 28, 28]);
  assert.deepEqual(train.classes, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  assert.equal(train.images.length, 10_000 * 28 * 28);
  assert.equal(train.labels.length, 10_000);
  for (const count of histogram(train)) assert.ok(count > 900 && count < 1100, `class count ${count}`);

  let min = Infinity, max = -Infinity, sum = 0, sumSq = 0;
  for (const x of train.images) {
    min = Math.min(min, x); max = Math.max(max, x);
    sum += x; sumSq += x * x;
  }
  const mean = sum / train.images.length;
  // Black is (0 - 0.2860)/0.3530, white is (1 - 0.2860)/0.3530.
  assert.ok(Math.abs(min - -0.286 / 0.353) < 1e-6, `min ${min}`);
  assert.ok(Math.abs(max - 0.714 / 0.353) < 1e-6, `max ${max}`);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sumSq / train.images.length - mean * mean) - 1) < 0.02);
});

test('the embedded test set is the full, exactly balanced 10,000 images', () => {
  const testSet = loadDataset(undefined, 'test');
  assert.deepEqual([testSet.n, testSet.channels, testSet.height, testSet.width], [10_000, 1, 28, 28]);
  assert.deepEqual(histogram(testSet), new Array(10).fill(1000));
});

test('the browser path (bytes + DecompressionStream) gives the same dataset as the Node loader', async () => {
  const gunzip = async (gz: Uint8Array) =>
    new Uint8Array(await new Response(new Blob([new Uint8Array(gz)]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const files = embeddedFiles('test');
  const fromBytes = await embeddedDataset(
    'test',
    { images: readFileSync(join(embedded, files.images)), labels: readFileSync(join(embedded, files.labels)) },
    gunzip,
  );
  assert.deepEqual(fromBytes, loadDataset(undefined, 'test'));
  await assert.rejects(
    embeddedDataset('test', { images: new Uint8Array(10), labels: new Uint8Array(10) }, gunzip),
    /t10k-images-idx3-ubyte\.gz: not a valid gzip file/,
  );
});

test('uncompressed IDX files load too', () => {
  const d = loadDataset(dirWith({ [IMAGES]: trainImages, [LABELS]: trainLabels }), 'train');
  assert.equal(d.n, 10_000);
});

test('corrupt IDX files each fail with one line naming the file, the problem and the fix', () => {
  const cases: [string, Record<string, Uint8Array>, string, RegExp][] = [
    ['wrong magic', { [IMAGES]: withUint32(trainImages, 0, 0x802), [LABELS]: trainLabels }, IMAGES, /wrong magic 0x00000802, expected 0x00000803/],
    ['labels given as images', { [IMAGES]: trainLabels, [LABELS]: trainLabels }, IMAGES, /other kind of IDX file/],
    ['truncated', { [IMAGES]: trainImages.subarray(0, trainImages.length - 100), [LABELS]: trainLabels }, IMAGES, /truncated: header says 10000 images of 28x28 \(7840000 bytes\) but only 7839900 follow/],
    ['truncated header', { [IMAGES]: trainImages, [LABELS]: trainLabels.subarray(0, 6) }, LABELS, /truncated: 6 bytes/],
    ['extra bytes', { [IMAGES]: Buffer.concat([trainImages, new Uint8Array(5)]), [LABELS]: trainLabels }, IMAGES, /5 extra bytes/],
    ['label 12', { [IMAGES]: trainImages, [LABELS]: withByte(trainLabels, 8 + 7, 12) }, LABELS, /label 12 of item 7 is outside 0\.\.9/],
    ['count mismatch', { [IMAGES]: trainImages, [LABELS]: withUint32(trainLabels, 4, 9_999).subarray(0, 8 + 9_999) }, LABELS, /has 10000 images but .*train-labels-idx1-ubyte has 9999 labels/],
    ['missing labels', { [`${IMAGES}.gz`]: gzipSync(trainImages) }, `${LABELS}.gz`, /missing/],
    ['garbage named .gz', { [`${IMAGES}.gz`]: new TextEncoder().encode('<html>404 Not Found</html>'), [LABELS]: trainLabels }, `${IMAGES}.gz`, /not a valid gzip file/],
    ['gzip cut short', { [IMAGES]: trainImages, [`${LABELS}.gz`]: gzipSync(trainLabels).subarray(0, 100) }, `${LABELS}.gz`, /not a valid gzip file/],
    ['gzip without .gz name', { [IMAGES]: trainImages, [LABELS]: gzipSync(trainLabels) }, LABELS, /still gzip-compressed/],
  ];
  for (const [what, files, file, problem] of cases) {
    try {
      expectFileError(dirWith(files), 'train', file, problem);
    } catch (e) {
      assert.fail(`${what}: ${(e as Error).message}`);
    }
  }
});

/** A CIFAR-10 batch of `labels.length` records; pixel p of every image has value p % 256. */
function cifarBatch(labels: number[]): Uint8Array {
  const bytes = new Uint8Array(labels.length * 3073);
  labels.forEach((label, i) => {
    bytes[i * 3073] = label;
    for (let p = 0; p < 3072; p++) bytes[i * 3073 + 1 + p] = p % 256;
  });
  return bytes;
}

test('CIFAR-10 batches load as normalised 3×32×32 NCHW images', () => {
  const train = loadDataset(
    dirWith(Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`data_batch_${i}.bin`, cifarBatch([i, 9 - i])]))),
    'train',
  );
  assert.equal(train.name, 'cifar10-train');
  assert.deepEqual([train.n, train.channels, train.height, train.width], [10, 3, 32, 32]);
  assert.deepEqual(train.classes, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  assert.deepEqual([...train.labels], [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
  // Image 1, green channel, pixel 5: raw value (1024 + 5) % 256 = 5.
  const green = train.images[1 * 3072 + 1024 + 5];
  assert.ok(Math.abs(green - (5 / 255 - 0.48215827) / 0.24348505) < 1e-6);

  // The tarball's own subdirectory is found from its parent.
  const parent = dirWith({});
  mkdirSync(join(parent, 'cifar-10-batches-bin'));
  writeFileSync(join(parent, 'cifar-10-batches-bin', 'test_batch.bin'), cifarBatch([0, 1, 2]));
  assert.equal(loadDataset(parent, 'test').n, 3);
});

test('corrupt CIFAR-10 batches and directories fail with one clear line', () => {
  expectFileError(dirWith({ 'test_batch.bin': cifarBatch([1, 2]).subarray(0, 2 * 3073 - 7) }), 'test', 'test_batch.bin', /size 6139 bytes is not a positive multiple of the 3073-byte record/);
  expectFileError(dirWith({ 'test_batch.bin': new Uint8Array(0) }), 'test', 'test_batch.bin', /not a positive multiple/);
  expectFileError(dirWith({ 'test_batch.bin': cifarBatch([3, 12]) }), 'test', 'test_batch.bin', /label 12 of item 1 is outside 0\.\.9/);
  expectFileError(dirWith({ 'data_batch_1.bin': cifarBatch([0]) }), 'train', 'data_batch_2.bin', /missing/);
  expectFileError(dirWith({ 'notes.txt': new Uint8Array(1) }), 'train', scratch, /no dataset files found/);
  expectFileError(join(scratch, 'no-such-dir'), 'train', 'no-such-dir', /data directory not found/);
});
