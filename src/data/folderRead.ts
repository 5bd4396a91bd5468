// Reading an image folder for a run, free of Node APIs: the layout, the split, the image size,
// the decoding of what the run needs (a skipped file making room for the next one) and the
// datasets. Whoever lists and decodes the files goes through these same steps: the CLI from disk
// with pngjs and sharp (folderLoad.ts), the page from a chosen folder with the browser's decoders.
import { Rng } from '../../runtime/rng.ts';
import { checkSameClasses, type DataInfo, type SplitRule } from './dataInfo.ts';
import { DatasetFileError, type Dataset, type Split } from './dataset.ts';
import type { Decoded, PreparedImage, RawImage } from './image.ts';
import { byLabel, defaultImageSize, folderDataset, folderLayout, shuffled, stratifiedSplit, type LabelledFile } from './imageFolder.ts';
import type { ResizeFilter } from './resample.ts';

export interface FolderOptions {
  /** The side to resize to; undefined: defaultImageSize's rule. */
  imageSize?: number;
  resize: ResizeFilter;
  testPortion: number;
  splitSeed: number;
  /** A run's record (eval, predict, resume): its classes, size, channels, normalisation and split, reproduced. */
  like?: DataInfo;
  /** The parts to decode, each limited to its first N images where N > 0 (a run's maxImages). */
  parts: Partial<Record<Split, number>>;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface LoadedFolder {
  train: Dataset | null;
  test: Dataset | null;
  skipped: SkippedFile[];
  notes: string[];
  /** Images per class in each part of the whole folder, before any limit. */
  counts: Record<Split, number[]>;
  /** Image folders: how many images were decoded, and how many came from the cache. */
  decoded?: { fresh: number; cached: number };
}

/** A folder's files and how to decode them. */
export interface FolderReader {
  /** The folder as messages name it. */
  readonly root: string;
  /** Everything in it, relative and '/'-separated, folders ending in '/' (see folderLayout). */
  readonly entries: readonly string[];
  /** Files decoded at once. */
  readonly inFlight: number;
  /** How a user chooses the image size, for the note when the default is not the images' own. */
  readonly sizeSetting: string;
  /** A file as the list of skipped files names it. */
  fileName(path: string): string;
  /** The file's original size, or null if it cannot be decoded (it is reported when decoded). */
  measure(path: string): Promise<{ width: number; height: number } | null>;
  /** The file at the run's size, or why it is no image. */
  decode(path: string, size: readonly [number, number], resize: ResizeFilter): Promise<Decoded>;
}

export async function mapInFlight<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Decoded images kept between measuring and preparing: at most 64×64 RGBA each, so some ten thousand. */
const KEEP_MEASURED_BYTES = 256 * 2 ** 20;

/** Images decoded to measure them, kept for the decoding that follows rather than decoded twice. */
export class MeasuredImages {
  private readonly kept = new Map<string, RawImage>();
  private bytes = 0;

  /** Keeps an image that may be at the run's size (the default rule's), while the budget lasts. */
  offer(path: string, raw: RawImage): void {
    if (!defaultImageSize([raw]).own || this.bytes + raw.data.length > KEEP_MEASURED_BYTES) return;
    this.kept.set(path, raw);
    this.bytes += raw.data.length;
  }

  take(path: string): RawImage | undefined {
    const raw = this.kept.get(path);
    this.kept.delete(path);
    return raw;
  }
}

/** The images a run asks for: the folder's layout and split, its parts decoded and made datasets. */
export async function readImageFolder(reader: FolderReader, options: FolderOptions): Promise<LoadedFolder> {
  const { root } = reader;
  const layout = folderLayout(root, reader.entries);
  const { classes } = layout;
  const like = options.like;
  if (like) checkSameClasses(like.classes, classes, root, 'the checkpoint');
  const rule: SplitRule = like?.split ?? { testPortion: layout.test ? null : options.testPortion, seed: options.splitSeed };
  const parts = layout.test
    ? { train: shuffled(layout.train, new Rng(rule.seed)), test: shuffled(layout.test, new Rng(rule.seed + 1)) }
    : stratifiedSplit(layout.train, classes.length, { testPortion: rule.testPortion ?? options.testPortion, seed: rule.seed });
  const notes = [...layout.notes];
  if (layout.ignored.length) notes.push(`${layout.ignored.length} non-image file${layout.ignored.length > 1 ? 's' : ''} ignored (${layout.ignored.slice(0, 3).join(', ')}${layout.ignored.length > 3 ? ', ...' : ''})`);

  const wanted = (split: Split) => (split in options.parts ? parts[split].slice(0, options.parts[split] || undefined) : []);
  const size = like?.imageSize ?? (options.imageSize ? [options.imageSize, options.imageSize] as [number, number] : null)
    ?? await chooseSize(reader, [...wanted('train'), ...wanted('test')], notes);
  const resize = like?.resize ?? options.resize;

  const skipped: SkippedFile[] = [];
  // Each part takes its first N decodable images: a skipped file makes room for the next one.
  const decodePart = async (files: LabelledFile[], limit: number) => {
    const used: LabelledFile[] = [];
    const images: PreparedImage[] = [];
    const want = limit || files.length;
    let next = 0;
    while (used.length < want && next < files.length) {
      const wave = files.slice(next, next + want - used.length);
      next += wave.length;
      const results = await mapInFlight(wave, reader.inFlight, (f) => reader.decode(f.path, size, resize));
      results.forEach((r, i) => {
        if ('error' in r) skipped.push({ file: reader.fileName(wave[i]!.path), reason: r.error });
        else {
          used.push(wave[i]!);
          images.push(r.image);
        }
      });
    }
    return { files: used, images };
  };
  const decoded: Partial<Record<Split, { files: LabelledFile[]; images: PreparedImage[] }>> = {};
  for (const split of ['train', 'test'] as const) {
    if (split in options.parts) decoded[split] = await decodePart(parts[split], options.parts[split] ?? 0);
  }
  const all = [...(decoded.train?.images ?? []), ...(decoded.test?.images ?? [])];
  const channels = like?.channels ?? (all.every((image) => image.gray) ? 1 : 3);
  const part = (split: Split, stats?: Dataset['stats']) => {
    const d = decoded[split];
    if (!d) return null;
    if (!d.files.length) throw new DatasetFileError(root, `no decodable image in the ${split} part (${skipped.length} skipped, e.g. ${skipped[0]?.file}: ${skipped[0]?.reason})`, 'replace the corrupt images');
    return folderDataset({ name: `${root} (${split})`, classes, files: d.files, images: d.images, size, channels, resize, split: rule, stats });
  };
  const train = part('train', like ? { mean: like.mean, std: like.std } : undefined);
  const test = part('test', train?.stats ?? (like ? { mean: like.mean, std: like.std } : undefined));
  if (!train && !test) throw new Error('readImageFolder: no part asked for');

  const count = (files: LabelledFile[]) => byLabel(files, classes.length).map((members) => members.length);
  return { train, test, skipped, notes, counts: { train: count(parts.train), test: count(parts.test) } };
}

const MEASURE_CHUNK = 256;

/**
 * The default side (defaultImageSize's rule) of the images to be used, measured a chunk at a time:
 * it stops at the first chunk that settles the answer.
 */
async function chooseSize(reader: FolderReader, files: LabelledFile[], notes: string[]): Promise<[number, number]> {
  const sizes: { width: number; height: number }[] = [];
  let rule = defaultImageSize(sizes);
  for (let start = 0; start < files.length && (rule.own || !sizes.length); start += MEASURE_CHUNK) {
    const chunk = await mapInFlight(files.slice(start, start + MEASURE_CHUNK), reader.inFlight, (f) => reader.measure(f.path));
    for (const s of chunk) if (s) sizes.push({ width: s.width, height: s.height });
    rule = defaultImageSize(sizes);
  }
  notes.push(`${rule.size}×${rule.size}: ${rule.why}${rule.own ? '' : ` (${reader.sizeSetting} to choose)`}`);
  return [rule.size, rule.size];
}

/** Why `n` training images cannot fill one batch when `share` of them train the weights, or null when they can. */
export function batchShortfall(n: number, batch: { size: number; share: number }): string | null {
  const usable = Math.floor(n * batch.share);
  if (usable >= batch.size) return null;
  return `${n} training images${batch.share < 1 ? ` (${usable} for the weights)` : ''} do not fill one batch of ${batch.size}`;
}
