// Node loader: finds which dataset a directory holds (IDX, CIFAR-10 binary, an image folder),
// reads and gunzips its files, and hands the bytes to the pure parsers. Without a directory it
// loads the embedded Fashion-MNIST subset shipped in data/fashion-mnist/.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CIFAR10_FILES, cifar10Dataset } from './cifar.ts';
import { checkSameClasses, describeSplit } from './dataInfo.ts';
import { DatasetFileError, type Dataset, type NamedBytes, type Split } from './dataset.ts';
import { loadImageFolder, type DiskFolderOptions } from './folderLoad.ts';
import type { LoadedFolder } from './folderRead.ts';
import { FASHION_MNIST_FILES, fashionMnistDataset } from './idx.ts';
import { firstImages } from './transforms.ts';

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

export type DataFormat = 'fashion-mnist' | 'cifar10' | 'image-folder';

const FORMAT_NAMES: Record<DataFormat, string> = {
  'fashion-mnist': 'Fashion-MNIST IDX files',
  cifar10: 'CIFAR-10 binary batches',
  'image-folder': 'an image folder',
};

/** Which dataset a directory holds, from its file names (undefined: the embedded Fashion-MNIST). */
function detect(dir: string | undefined): { format: DataFormat; root: string; base: string; names: Set<string> } {
  const root = dir ?? embeddedDataDir();
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DatasetFileError(root, 'data directory not found', 'pass a directory holding Fashion-MNIST or CIFAR-10 files, or one folder of images per class');
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
  if (isFashion) return { format: 'fashion-mnist', root, base, names };
  if (isCifar) return { format: 'cifar10', root, base, names };
  if (readdirSync(root, { withFileTypes: true }).some((e) => e.isDirectory() || e.isSymbolicLink())) return { format: 'image-folder', root, base, names };
  throw new DatasetFileError(
    base,
    'no dataset files found',
    `expected Fashion-MNIST (${FASHION_MNIST_FILES.train.images}.gz ...), CIFAR-10 (data_batch_1.bin ... test_batch.bin) or one folder of images per class`,
  );
}

export function dataFormat(dir: string | undefined): DataFormat {
  return detect(dir).format;
}

/** One split of Fashion-MNIST or CIFAR-10 files (image folders: loadData). */
export function loadDataset(dir: string | undefined, split: Split): Dataset {
  const { format, base, names } = detect(dir);
  if (format === 'fashion-mnist') {
    const files = FASHION_MNIST_FILES[split];
    return fashionMnistDataset(readIdx(base, files.images, names), readIdx(base, files.labels, names), split);
  }
  if (format === 'cifar10') return cifar10Dataset(CIFAR10_FILES[split].map((name) => read(join(base, name))), split);
  throw new DatasetFileError(base, 'is an image folder, not IDX or CIFAR-10 files', 'sgas search, train and eval read image folders; this command reads IDX or CIFAR-10 files');
}

/** What run.json and the summaries call the data without --data. */
export const EMBEDDED_SOURCE = 'embedded fashion-mnist';

export interface LoadedData extends LoadedFolder {
  format: DataFormat;
  /** The directory as given, or the embedded data's. */
  source: string;
}

/** The parts a run asks for from any format: files that hold their own test set, or an image folder. */
export async function loadData(dir: string | undefined, options: DiskFolderOptions): Promise<LoadedData> {
  const { format, root } = detect(dir);
  const source = dir ?? EMBEDDED_SOURCE;
  if (format === 'image-folder') return { format, source, ...(await loadImageFolder(root, options)) };
  const part = (split: Split) => {
    if (!(split in options.parts)) return null;
    const data = firstImages(loadDataset(dir, split), options.parts[split] ?? 0);
    if (options.like) checkSameClasses(options.like.classes, data.classes, data.name, 'the checkpoint');
    return data;
  };
  const [train, test] = [part('train'), part('test')];
  const histogram = (d: Dataset | null) => {
    const counts = new Array<number>((train ?? test)!.classes.length).fill(0);
    d?.labels.forEach((l) => counts[l]++);
    return counts;
  };
  return { format, source, train, test, skipped: [], notes: [], counts: { train: histogram(train), test: histogram(test) } };
}

/** What a run found in its data, for the terminal: the format, images, classes with counts, size, channels, split. */
export function describeData(data: LoadedData): string[] {
  const d = (data.train ?? data.test)!;
  const total = (split: Split) => data.counts[split].reduce((a, b) => a + b, 0);
  const perClass = d.classes.map((c, i) => `${c} ${data.counts.train[i]! + data.counts.test[i]!}`).join(', ');
  const used = (['train', 'test'] as const).filter((s) => data[s]).map((s) => `${data[s]!.n} ${s === 'train' ? 'training' : 'test'} images used`);
  const lines = [
    `data: ${FORMAT_NAMES[data.format]} in ${data.source}: ${total('train') + total('test')} images (${total('train')} training, ${total('test')} test), ${d.classes.length} classes: ${perClass}`,
    `  ${d.height}×${d.width}${data.format === 'image-folder' ? ` (${d.resize} resize)` : ''}, ${d.channels} channel${d.channels > 1 ? 's' : ''}; split: ${describeSplit(d.split)}; ${used.join(', ')}`,
    ...data.notes.map((n) => `  ${n}`),
  ];
  if (data.skipped.length) {
    lines.push(`  skipped ${data.skipped.length} unreadable image${data.skipped.length > 1 ? 's' : ''}: ${data.skipped.map((s) => `${s.file} (${s.reason})`).join('; ')}`);
  }
  return lines;
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
