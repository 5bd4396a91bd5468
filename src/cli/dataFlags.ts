// --data and the image-folder flags of sgas search and sgas train, and loading a run's data with
// its summary on stderr, checked before any GPU work.
import { resolve } from 'node:path';
import type { DataInfo } from '../data/dataInfo.ts';
import type { Split } from '../data/dataset.ts';
import { batchShortfall } from '../data/folderRead.ts';
import { dataFormat, describeData, EMBEDDED_SOURCE, loadData, type LoadedData } from '../data/load.ts';
import { RESIZE_FILTERS, type ResizeFilter } from '../data/resample.ts';
import { NON_NEGATIVE_INTEGER, numberFlag, numericOptions, SHARED_RANGES, UsageError, type Range } from './args.ts';

/** The range of each numeric data flag (--image-size is a hyperparameter flag of its own). */
export const DATA_FLAG_RANGES = { 'test-portion': { above: 0, below: 1 }, 'split-seed': NON_NEGATIVE_INTEGER } satisfies Record<string, Range>;

export const DATA_FLAGS = { data: { type: 'string' }, resize: { type: 'string' }, ...numericOptions(DATA_FLAG_RANGES) } as const;

export const DATA_HELP = `data:
  --data DIR     Fashion-MNIST/MNIST IDX files, CIFAR-10 binary batches, or an image folder:
                 DIR/<class>/<image> or DIR/train/<class>/... with DIR/test/<class>/... (or val/),
                 PNG or JPEG (default: the embedded Fashion-MNIST)
  image folders: --image-size S (default: the images' own size when all share one of at most 64,
                 else 32; presets' sizes apply to IDX and CIFAR-10 only), --resize area|bilinear
                 (default area), --test-portion P (without a test/ folder: a stratified share of
                 each class, default 0.2), --split-seed N (default 0: keep it the same for a
                 search, its training and eval). Decoded images are cached in $SGAS_CACHE_DIR
                 (default ~/.cache/sgas-webgpu/images).
`;

export interface DataFlags {
  dir: string | undefined;
  /** --image-size as given (folders only; IDX and CIFAR-10 take it as the config's imageSize). */
  imageSize: number | undefined;
  resize: ResizeFilter | undefined;
  testPortion: number | undefined;
  splitSeed: number | undefined;
}

export function dataFlags(flags: Record<string, string | boolean | undefined>): DataFlags {
  const text = (name: string) => flags[name] as string | undefined;
  const resize = text('resize');
  if (resize !== undefined && !RESIZE_FILTERS.includes(resize as ResizeFilter)) throw new UsageError(`--resize ${resize}: expected ${RESIZE_FILTERS.join(' or ')}`);
  const optional = (name: string, range: Range) => (text(name) === undefined ? undefined : numberFlag(name, text(name), 0, range));
  return {
    dir: text('data'),
    // 0, as for IDX and CIFAR-10: the images' own size.
    imageSize: optional('image-size', SHARED_RANGES.imageSize) || undefined,
    resize: resize as ResizeFilter | undefined,
    testPortion: optional('test-portion', DATA_FLAG_RANGES['test-portion']),
    splitSeed: optional('split-seed', DATA_FLAG_RANGES['split-seed']),
  };
}

export interface RunData {
  /** The parts to load, each its first N images where N > 0. */
  parts: Partial<Record<Split, number>>;
  /** A checkpoint's record: reproduce its classes, size, channels, normalisation and split. */
  like?: DataInfo;
  /** The batch the run's training part must fill, and how many of its images a batch draws from. */
  batch?: { size: number; share: number };
  /** Where the summary of the data goes (default: stderr). */
  log?: (line: string) => void;
}

/** Loads and describes the data of a run, failing on flags the format does not take or too few images. */
export async function loadRunData(flags: DataFlags, run: RunData): Promise<LoadedData> {
  const format = dataFormat(flags.dir);
  if (format !== 'image-folder') {
    const folderOnly = (['resize', 'testPortion', 'splitSeed'] as const).filter((k) => flags[k] !== undefined);
    if (folderOnly.length) {
      const names = folderOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      throw new UsageError(`${names.join(', ')}: for image folders only; ${flags.dir ?? 'the embedded data'} holds ${format} files with their own test set`);
    }
  }
  const data = await loadData(flags.dir, {
    imageSize: flags.imageSize, resize: flags.resize ?? 'area', testPortion: flags.testPortion ?? 0.2, splitSeed: flags.splitSeed ?? 0,
    like: run.like, parts: run.parts, cache: true,
  });
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));
  for (const line of describeData(data)) log(line);
  const shortfall = run.batch && data.train && batchShortfall(data.train.n, run.batch);
  if (shortfall) throw new UsageError(`${data.source}: ${shortfall}; add images or lower --batch-size`);
  return data;
}

/** What run.json records of the data; the folder absolute, so that eval and --resume find it from anywhere. */
export function dataRecord(data: LoadedData, info: DataInfo): Record<string, unknown> {
  const folder = data.source === EMBEDDED_SOURCE ? data.source : resolve(data.source);
  return { data: folder, dataFormat: data.format, dataInfo: info, skipped: data.skipped };
}
