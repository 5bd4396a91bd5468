// Node loader: finds which dataset a directory holds, reads and gunzips its files, and
// hands the bytes to the pure parsers. Without a directory it loads the embedded
// Fashion-MNIST subset shipped in data/fashion-mnist/.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CIFAR10_FILES, cifar10Dataset } from './cifar.ts';
import { DatasetFileError, type Dataset, type NamedBytes, type Split } from './dataset.ts';
import { FASHION_MNIST_FILES, fashionMnistDataset } from './idx.ts';

const EMBEDDED_SUBDIR = join('data', 'fashion-mnist');

/**
 * The embedded data directory, found by walking up from this module, so it resolves
 * both from src/data/ (tsx) and from dist/ (the esbuild bundle).
 */
export function embeddedDataDir(): string {
  const marker = `${FASHION_MNIST_FILES.test.images}.gz`;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, EMBEDDED_SUBDIR);
    if (existsSync(join(candidate, marker))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new DatasetFileError(
        EMBEDDED_SUBDIR,
        `embedded dataset not found above ${fileURLToPath(import.meta.url)}`,
        'run from a full checkout of the project or pass a data directory',
      );
    }
    dir = parent;
  }
}

export function loadDataset(dir: string | undefined, split: Split): Dataset {
  const root = dir ?? embeddedDataDir();
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DatasetFileError(root, 'data directory not found', 'pass a directory holding Fashion-MNIST or CIFAR-10 files');
  }
  // The CIFAR-10 tarball unpacks into this subdirectory; accept its parent too.
  const cifarSub = join(root, 'cifar-10-batches-bin');
  const base = existsSync(cifarSub) ? cifarSub : root;
  const names = new Set(readdirSync(base));
  const isFashion = Object.values(FASHION_MNIST_FILES).some(
    (f) => [f.images, f.labels].some((name) => names.has(name) || names.has(`${name}.gz`)),
  );
  const isCifar = [...CIFAR10_FILES.train, ...CIFAR10_FILES.test].some((name) => names.has(name));
  if (isFashion && isCifar) {
    throw new DatasetFileError(base, 'holds both Fashion-MNIST and CIFAR-10 files', 'keep each dataset in its own directory');
  }
  if (isFashion) {
    const files = FASHION_MNIST_FILES[split];
    return fashionMnistDataset(readIdx(base, files.images, names), readIdx(base, files.labels, names), split);
  }
  if (isCifar) {
    return cifar10Dataset(CIFAR10_FILES[split].map((name) => read(join(base, name))), split);
  }
  throw new DatasetFileError(
    base,
    'no dataset files found',
    `expected Fashion-MNIST (${FASHION_MNIST_FILES.train.images}.gz ...) or CIFAR-10 (data_batch_1.bin ... test_batch.bin)`,
  );
}

/** An IDX file, gzipped (preferred) or not. */
function readIdx(dir: string, name: string, names: Set<string>): NamedBytes {
  const file = join(dir, names.has(name) && !names.has(`${name}.gz`) ? name : `${name}.gz`);
  return read(file);
}

function read(file: string): NamedBytes {
  if (!existsSync(file)) {
    throw new DatasetFileError(file, 'missing', 'download the complete dataset into this directory');
  }
  const raw = readFileSync(file);
  const bytes = file.endsWith('.gz') ? gunzip(raw, file) : raw;
  return { file, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function gunzip(raw: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw new DatasetFileError(
      file,
      `not a valid gzip file (${(e as Error).message})`,
      're-download it, or if it is not compressed drop the .gz suffix',
    );
  }
}
