// Node loader of image folders: lists the folder and decodes its files from disk (from the cache
// where it can), through the steps every reader shares (folderRead.ts).
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { FileKey } from './decodedImages.ts';
import { decodedImage, type Decoded, type RawImage } from './image.ts';
import { ImageCache } from './imageCache.ts';
import { decodeFailure, decodeImage } from './imageDecode.ts';
import { isIgnoredName, isImageFile } from './imageFolder.ts';
import { MeasuredImages, readImageFolder, type FolderOptions, type FolderReader, type LoadedFolder } from './folderRead.ts';
import type { ResizeFilter } from './resample.ts';

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
    return decodedImage(bytes instanceof Uint8Array ? await decodeImage(bytes) : bytes, size, resize);
  } catch (e) {
    return { error: decodeFailure(e) };
  }
}

/** A folder on disk, its decoded images cached between runs (ImageCache). */
class DiskFolder implements FolderReader {
  readonly entries: string[];
  readonly inFlight = IN_FLIGHT;
  readonly sizeSetting = '--image-size S';
  /** Opened at the first decode, once the image size is known; null: no cache. */
  cache: ImageCache | null | undefined;
  fresh = 0;
  private fileKeys: Map<string, FileKey> | null = null;
  private known: ReturnType<typeof ImageCache.knownDimensions> | null = null;
  private readonly measured = new MeasuredImages();

  constructor(readonly root: string, private readonly useCache: boolean) {
    this.entries = listFolder(root);
  }

  /** Every image file as it is now, stated once the folder's layout has passed. */
  get keys(): Map<string, FileKey> {
    this.fileKeys ??= new Map(this.entries.filter((p) => !p.endsWith('/') && isImageFile(p)).map((p) => {
      const s = statSync(join(this.root, p));
      return [p, { bytes: s.size, mtimeMs: s.mtimeMs }];
    }));
    return this.fileKeys;
  }

  fileName(path: string): string {
    return join(this.root, path);
  }

  async measure(path: string): Promise<{ width: number; height: number } | null> {
    this.known ??= ImageCache.knownDimensions(this.root);
    const k = this.known.get(path);
    const key = this.keys.get(path)!;
    if (k && k.bytes === key.bytes && k.mtimeMs === key.mtimeMs) return k;
    try {
      const raw = await decodeImage(readFileSync(join(this.root, path)));
      this.measured.offer(path, raw);
      return raw;
    } catch {
      // Unreadable or undecodable: it is skipped and reported when decoded.
      return null;
    }
  }

  async decode(path: string, size: readonly [number, number], resize: ResizeFilter): Promise<Decoded> {
    if (this.cache === undefined) this.cache = this.useCache ? ImageCache.open(this.root, [size[0], size[1]], resize) : null;
    const key = this.keys.get(path)!;
    const hit = this.cache?.get(path, key);
    if (hit) return hit;
    let bytes: Uint8Array | RawImage | undefined = this.measured.take(path);
    try {
      // Synchronous: small files read faster so than through the thread pool, which sharp keeps busy.
      bytes ??= readFileSync(join(this.root, path));
    } catch (e) {
      // Not cached: a file that cannot be read now may be readable next time, unchanged.
      return { error: decodeFailure(e) };
    }
    const decoded = await decodeBytes(bytes, size, resize);
    this.fresh++;
    this.cache?.put(path, key, decoded);
    return decoded;
  }
}

export type DiskFolderOptions = FolderOptions & { cache: boolean };

export async function loadImageFolder(root: string, options: DiskFolderOptions): Promise<LoadedFolder> {
  const started = performance.now();
  const folder = new DiskFolder(root, options.cache);
  const loaded = await readImageFolder(folder, options);
  const cache = folder.cache ?? null;
  const cached = cache?.hits ?? 0;
  const problem = cache?.save(folder.keys);
  if (problem) loaded.notes.push(problem);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  loaded.notes.push(cache
    ? `${folder.fresh} decoded, ${cached} from the cache in ${cache.file}, in ${seconds} s`
    : `${folder.fresh} decoded in ${seconds} s (no cache)`);
  return { ...loaded, decoded: { fresh: folder.fresh, cached } };
}
