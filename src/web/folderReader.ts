// A user's image folder in the engine Worker, read by the CLI's own steps (folderRead.ts) with the
// browser's decoders (imageFile.ts). The Worker remembers what it decoded of each folder between
// requests (original sizes, and images at each size, keyed by path, byte size and mtime as the
// CLI's cache is), so the summary's decoding serves the search that follows. A folder kept with
// its search brings its decoded images instead of its files, which a reload has lost.
import type { DataInfo } from '../data/dataInfo.ts';
import { DatasetFileError, type Dataset } from '../data/dataset.ts';
import { DecodedImages, type FileKey } from '../data/decodedImages.ts';
import { batchShortfall, MeasuredImages, readImageFolder, type FolderOptions, type FolderReader } from '../data/folderRead.ts';
import { decodedImage, type Decoded, type RawImage } from '../data/image.ts';
import type { ResizeFilter } from '../data/resample.ts';
import { decodeImageFile } from './imageFile.ts';
import type { FolderSettings, FolderSummary, ImageFolder, KeptImages } from './protocol.ts';

type Size = { width: number; height: number };

/** What the Worker remembers of the folder last read (by name; entries of another folder's files fail the key check). */
interface Memory {
  name: string;
  sizes: Map<string, { key: FileKey; size: Size | null }>;
  images: Map<string, DecodedImages>;
}

let remembered: Memory | null = null;

const sameKey = (a: FileKey, b: FileKey) => a.bytes === b.bytes && a.mtimeMs === b.mtimeMs;

class BrowserFolder implements FolderReader {
  readonly root: string;
  readonly entries: readonly string[];
  readonly inFlight = 2 * navigator.hardwareConcurrency;
  readonly sizeSetting = 'set Image size';
  private readonly files: Map<string, File>;
  private readonly keys = new Map<string, FileKey>();
  private readonly memory: Memory;
  private readonly measured = new MeasuredImages();
  private decoded = 0;

  constructor(folder: ImageFolder, private readonly progress: (decoded: number) => void) {
    this.root = folder.name;
    this.entries = folder.entries;
    this.files = new Map(folder.files.map((f) => [f.path, f.file]));
    if (remembered?.name !== folder.name) remembered = { name: folder.name, sizes: new Map(), images: new Map() };
    this.memory = remembered;
    if (folder.kept) {
      const { rows, pixels, imageSize, resize } = folder.kept;
      for (const [path, bytes, mtimeMs] of rows) this.keys.set(path, { bytes, mtimeMs });
      for (const [path, known] of DecodedImages.dimensions(rows)) this.memory.sizes.set(path, { key: known, size: known });
      this.memory.images.set(`${imageSize.join('x')}-${resize}`, DecodedImages.unpack(rows, pixels, imageSize));
    }
    for (const { path, file } of folder.files) this.keys.set(path, { bytes: file.size, mtimeMs: file.lastModified });
  }

  fileName(path: string): string {
    return `${this.root}/${path}`;
  }

  async measure(path: string): Promise<Size | null> {
    const key = this.keys.get(path)!;
    const known = this.memory.sizes.get(path);
    if (known && sameKey(known.key, key)) return known.size;
    const file = this.files.get(path);
    if (!file) return null;
    let size: Size | null = null;
    try {
      const raw = await this.decodeFile(file);
      this.measured.offer(path, raw);
      size = raw;
    } catch {
      // Undecodable: it is skipped and reported when decoded.
    }
    this.memory.sizes.set(path, { key, size });
    return size;
  }

  async decode(path: string, size: readonly [number, number], resize: ResizeFilter): Promise<Decoded> {
    const images = this.images(size, resize);
    const key = this.keys.get(path);
    const hit = key && images.get(path, key);
    if (hit) return hit;
    const file = this.files.get(path);
    if (!file || !key) {
      throw new DatasetFileError(this.root, `the images kept with the search hold no ${path} at ${size.join('×')} (${resize} resize)`, 'choose the folder again');
    }
    let decoded: Decoded;
    try {
      decoded = decodedImage(this.measured.take(path) ?? await this.decodeFile(file), size, resize);
    } catch (e) {
      decoded = { error: (e as Error).message };
    }
    images.put(path, key, decoded);
    return decoded;
  }

  /** The folder's images at this size, 8-bit, to keep with a search. */
  keep(size: readonly [number, number], resize: ResizeFilter): KeptImages {
    const { rows, pixels } = this.images(size, resize).pack((path) => this.keys.has(path));
    const joined = new Uint8Array(pixels.reduce((n, p) => n + p.length, 0));
    pixels.reduce((offset, p) => (joined.set(p, offset), offset + p.length), 0);
    return { imageSize: [size[0], size[1]], resize, rows, pixels: joined };
  }

  private images(size: readonly [number, number], resize: ResizeFilter): DecodedImages {
    const name = `${size.join('x')}-${resize}`;
    const images = this.memory.images.get(name) ?? new DecodedImages();
    this.memory.images.set(name, images);
    return images;
  }

  private async decodeFile(file: File): Promise<RawImage> {
    try {
      return await decodeImageFile(file);
    } finally {
      this.progress(++this.decoded);
    }
  }
}

function folderOptions(settings: FolderSettings, parts: FolderOptions['parts'], like?: DataInfo): FolderOptions {
  return { imageSize: settings.imageSize ?? undefined, resize: settings.resize, testPortion: settings.testPortion, splitSeed: settings.splitSeed, parts, like };
}

/** Sample images shown per class. */
const SAMPLES = 8;

/** Decodes the folder's training part as a search with every image would, and says what it found. */
export async function summariseFolder(folder: ImageFolder, settings: FolderSettings, progress: (decoded: number) => void): Promise<FolderSummary> {
  const reader = new BrowserFolder(folder, progress);
  const loaded = await readImageFolder(reader, folderOptions(settings, { train: 0 }));
  const train = loaded.train!;
  const size: [number, number] = [train.height, train.width];
  const picked = train.classes.map(() => 0);
  const samples: FolderSummary['samples'] = [];
  for (let i = 0; i < train.n; i++) {
    const label = train.labels[i]!;
    if (picked[label]! >= SAMPLES) continue;
    picked[label]!++;
    const decoded = await reader.decode(train.files![i]!, size, train.resize);
    // A copy: the image may be a view of a kept folder's pixels, all of which a message would carry.
    if (!('error' in decoded)) samples.push({ label, image: { gray: decoded.image.gray, pixels: decoded.image.pixels.slice() } });
  }
  return {
    name: folder.name, classes: [...train.classes], counts: loaded.counts, imageSize: size, channels: train.channels, resize: train.resize,
    split: train.split!, skipped: loaded.skipped, notes: loaded.notes, samples,
  };
}

/**
 * A search's training images from a folder, as `sgas search --data` loads them: a new search's
 * first maxImages (`batch`: it fails unless they fill one), or a resumed one's by its record.
 * With them, the folder's images at their size, to keep with the search.
 */
export async function folderTrainingImages(folder: ImageFolder, settings: FolderSettings, run: { maxImages: number; like?: DataInfo; batch?: { size: number; share: number } }):
  Promise<{ train: Dataset; kept: KeptImages }> {
  const reader = new BrowserFolder(folder, () => {});
  const loaded = await readImageFolder(reader, folderOptions(settings, { train: run.maxImages }, run.like));
  const train = loaded.train!;
  const shortfall = run.batch && batchShortfall(train.n, run.batch);
  if (shortfall) throw new DatasetFileError(folder.name, shortfall, 'add images or lower the batch size');
  return { train, kept: reader.keep([train.height, train.width], train.resize) };
}
