// Node loader of image folders: lists the folder, splits it, decodes what the run needs (from the
// cache where it can) and builds the datasets with the pure pieces of imageFolder.ts.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../runtime/rng.ts';
import { checkSameClasses, type DataInfo, type SplitRule } from './dataInfo.ts';
import { DatasetFileError, type Dataset, type Split } from './dataset.ts';
import { prepareImage, type PreparedImage, type RawImage } from './image.ts';
import { ImageCache, type Decoded, type FileKey } from './imageCache.ts';
import { decodeFailure, decodeImage } from './imageDecode.ts';
import { byLabel, defaultImageSize, folderDataset, folderLayout, isIgnoredName, shuffled, stratifiedSplit, type LabelledFile } from './imageFolder.ts';
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
  cache: boolean;
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

// Decodes in flight at once: sharp decodes on libuv's thread pool, so a few per core keep it busy.
export const IN_FLIGHT = 2 * availableParallelism();

/**
 * Every entry under root, relative and '/'-separated, folders ending in '/'; hidden ones left out.
 * Symbolic links are followed, as ImageFolder does, each folder once (a link to a parent is no loop).
 */
export function listFolder(root: string, prefix = '', seen = new Set([realpathSync(root)])): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    if (isIgnoredName(entry.name)) continue;
    const path = prefix + entry.name;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(join(root, path), { throwIfNoEntry: false })?.isDirectory());
    if (!isDir) {
      out.push(path);
      continue;
    }
    const real = realpathSync(join(root, path));
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(`${path}/`, ...listFolder(root, `${path}/`, seen));
  }
  return out;
}

/** An image file's bytes (or its decoded pixels) at the run's size, or why they are no image. */
export async function decodeBytes(bytes: Uint8Array | RawImage, size: readonly [number, number], resize: ResizeFilter): Promise<Decoded> {
  try {
    const raw = bytes instanceof Uint8Array ? await decodeImage(bytes) : bytes;
    return { width: raw.width, height: raw.height, image: prepareImage(raw, size, resize) };
  } catch (e) {
    return { error: decodeFailure(e) };
  }
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

export async function loadImageFolder(root: string, options: FolderOptions): Promise<LoadedFolder> {
  const started = performance.now();
  const layout = folderLayout(root, listFolder(root));
  const { classes } = layout;
  const like = options.like;
  if (like) checkSameClasses(like.classes, classes, root, 'the checkpoint');
  const rule: SplitRule = like?.split ?? { testPortion: layout.test ? null : options.testPortion, seed: options.splitSeed };
  const parts = layout.test
    ? { train: shuffled(layout.train, new Rng(rule.seed)), test: shuffled(layout.test, new Rng(rule.seed + 1)) }
    : stratifiedSplit(layout.train, classes.length, { testPortion: rule.testPortion ?? options.testPortion, seed: rule.seed });
  const notes = [...layout.notes];
  if (layout.ignored.length) notes.push(`${layout.ignored.length} non-image file${layout.ignored.length > 1 ? 's' : ''} ignored (${layout.ignored.slice(0, 3).join(', ')}${layout.ignored.length > 3 ? ', ...' : ''})`);

  const keys = new Map<string, FileKey>();
  for (const f of [...parts.train, ...parts.test]) {
    const s = statSync(join(root, f.path));
    keys.set(f.path, { bytes: s.size, mtimeMs: s.mtimeMs });
  }
  const wanted = (split: Split) => (split in options.parts ? parts[split].slice(0, options.parts[split] || undefined) : []);
  // Images decoded to measure them, kept for the decoding below rather than decoded twice.
  const measured = new Map<string, RawImage>();
  const size = like?.imageSize ?? (options.imageSize ? [options.imageSize, options.imageSize] as [number, number] : null)
    ?? await chooseSize(root, [...wanted('train'), ...wanted('test')], keys, measured, notes);
  const resize = like?.resize ?? options.resize;

  const cache = options.cache ? ImageCache.open(root, size, resize) : null;
  const skipped: SkippedFile[] = [];
  let decodedCount = 0;
  const decode = async (path: string): Promise<Decoded> => {
    const key = keys.get(path)!;
    const hit = cache?.get(path, key);
    if (hit) return hit;
    let bytes: Uint8Array | RawImage | undefined = measured.get(path);
    measured.delete(path);
    try {
      // Synchronous: small files read faster so than through the thread pool, which sharp keeps busy.
      bytes ??= readFileSync(join(root, path));
    } catch (e) {
      // Not cached: a file that cannot be read now may be readable next time, unchanged.
      return { error: decodeFailure(e) };
    }
    const decoded = await decodeBytes(bytes, size, resize);
    decodedCount++;
    cache?.put(path, key, decoded);
    return decoded;
  };
  // Each part takes its first N decodable images: a skipped file makes room for the next one.
  const decodePart = async (files: LabelledFile[], limit: number) => {
    const used: LabelledFile[] = [];
    const images: PreparedImage[] = [];
    const want = limit || files.length;
    let next = 0;
    while (used.length < want && next < files.length) {
      const wave = files.slice(next, next + want - used.length);
      next += wave.length;
      const results = await mapInFlight(wave, IN_FLIGHT, (f) => decode(f.path));
      results.forEach((r, i) => {
        if ('error' in r) skipped.push({ file: join(root, wave[i]!.path), reason: r.error });
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
  if (!train && !test) throw new Error('loadImageFolder: no part asked for');

  const count = (files: LabelledFile[]) => byLabel(files, classes.length).map((members) => members.length);
  const cached = cache?.hits ?? 0;
  const problem = cache?.save(keys);
  if (problem) notes.push(problem);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  notes.push(cache
    ? `${decodedCount} decoded, ${cached} from the cache in ${cache.file}, in ${seconds} s`
    : `${decodedCount} decoded in ${seconds} s (no cache)`);
  return { train, test, skipped, notes, counts: { train: count(parts.train), test: count(parts.test) }, decoded: { fresh: decodedCount, cached } };
}

/** Decoded images kept between measuring and preparing: at most 64×64 RGBA each, so some ten thousand. */
const KEEP_MEASURED_BYTES = 256 * 2 ** 20;
const MEASURE_CHUNK = 256;

/**
 * The default side (defaultImageSize's rule) of the images to be used, from the cache where it knows
 * their sizes, else by decoding them; it stops at the first image that settles the answer. Images
 * that may be at the answer's size are kept in `measured`, up to KEEP_MEASURED_BYTES.
 */
async function chooseSize(root: string, files: LabelledFile[], keys: Map<string, FileKey>, measured: Map<string, RawImage>, notes: string[]): Promise<[number, number]> {
  const known = ImageCache.knownDimensions(root);
  const sizes: { width: number; height: number }[] = [];
  let kept = 0;
  let rule = defaultImageSize(sizes);
  for (let start = 0; start < files.length && (rule.own || !sizes.length); start += MEASURE_CHUNK) {
    const chunk = await mapInFlight(files.slice(start, start + MEASURE_CHUNK), IN_FLIGHT, async (f) => {
      const k = known.get(f.path);
      const key = keys.get(f.path)!;
      if (k && k.bytes === key.bytes && k.mtimeMs === key.mtimeMs) return k;
      try {
        const raw = await decodeImage(readFileSync(join(root, f.path)));
        if (defaultImageSize([raw]).own && kept + raw.data.length <= KEEP_MEASURED_BYTES) {
          measured.set(f.path, raw);
          kept += raw.data.length;
        }
        return raw;
      } catch {
        // Unreadable or undecodable: it is skipped and reported when decoded.
        return null;
      }
    });
    for (const s of chunk) if (s) sizes.push({ width: s.width, height: s.height });
    rule = defaultImageSize(sizes);
  }
  if (!rule.own) measured.clear();
  notes.push(`${rule.size}×${rule.size}: ${rule.why}${rule.own ? '' : ' (--image-size S to choose)'}`);
  return [rule.size, rule.size];
}
