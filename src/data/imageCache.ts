// The decoded-image cache of image folders: one file per folder, image size and filter, holding
// every image's prepared pixels keyed by its path, byte size and mtime, so the second run on a
// folder reads one file instead of decoding thousands. Corrupt images are cached as their error.
// Where: $SGAS_CACHE_DIR, else $XDG_CACHE_HOME/sgas-webgpu/images, else ~/.cache/sgas-webgpu/images.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../cli/files.ts';
import type { PreparedImage } from './image.ts';
import type { ResizeFilter } from './resample.ts';

const MAGIC = 'SGASIMG1';

/** What identifies a file's content without reading it. */
export interface FileKey {
  bytes: number;
  mtimeMs: number;
}

export type Decoded = { width: number; height: number; image: PreparedImage } | { error: string };

/** [path, bytes, mtimeMs, width, height, gray (0 or 1) or the decoding error]. */
type Row = [string, number, number, number, number, number | string];

interface Header {
  root: string;
  imageSize: [number, number];
  resize: ResizeFilter;
  rows: Row[];
}

export function imageCacheRoot(): string {
  if (process.env.SGAS_CACHE_DIR) return resolve(process.env.SGAS_CACHE_DIR);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sgas-webgpu', 'images');
}

/** The folder's own cache directory: its name and a hash of its absolute path. */
function folderCacheDir(root: string): string {
  const absolute = resolve(root);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return join(imageCacheRoot(), `${basename(absolute).replace(/[^\w.-]/g, '_')}-${hash}`);
}

function readHeader(file: string): { header: Header; dataStart: number } | null {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const prefix = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, prefix, 0, prefix.length, 0) !== prefix.length || prefix.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
    const length = prefix.readUInt32LE(MAGIC.length);
    const json = Buffer.alloc(length);
    if (readSync(fd, json, 0, length, prefix.length) !== length) return null;
    return { header: JSON.parse(json.toString('utf8')) as Header, dataStart: prefix.length + length };
  } catch {
    // An unreadable or half-written cache is no cache: the images are decoded again.
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export class ImageCache {
  private readonly entries = new Map<string, { key: FileKey; decoded: Decoded }>();
  private changed = false;
  hits = 0;

  private constructor(readonly file: string, private readonly root: string, private readonly imageSize: [number, number], private readonly resize: ResizeFilter) {}

  /** The cache of a folder at one image size and filter (empty if there is none yet). */
  static open(root: string, imageSize: [number, number], resize: ResizeFilter): ImageCache {
    const cache = new ImageCache(join(folderCacheDir(root), `${imageSize[0]}x${imageSize[1]}-${resize}.bin`), resolve(root), imageSize, resize);
    const found = existsSync(cache.file) ? readHeader(cache.file) : null;
    if (!found) return cache;
    const bytes = readFileSync(cache.file);
    const plane = imageSize[0] * imageSize[1];
    let offset = found.dataStart;
    for (const row of found.header.rows) {
      const [path, size, mtimeMs, width, height, gray] = row;
      const key = { bytes: size, mtimeMs };
      if (typeof gray === 'string') {
        cache.entries.set(path, { key, decoded: { error: gray } });
        continue;
      }
      const length = (gray ? 1 : 3) * plane;
      if (offset + length > bytes.length) break;
      const pixels = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
      cache.entries.set(path, { key, decoded: { width, height, image: { gray: gray === 1, pixels } } });
      offset += length;
    }
    return cache;
  }

  /** Original sizes of the folder's files as any of its caches knows them, for the default image size. */
  static knownDimensions(root: string): Map<string, FileKey & { width: number; height: number }> {
    const dir = folderCacheDir(root);
    const known = new Map<string, FileKey & { width: number; height: number }>();
    if (!existsSync(dir)) return known;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.bin'))) {
      for (const [path, bytes, mtimeMs, width, height, gray] of readHeader(join(dir, name))?.header.rows ?? []) {
        if (typeof gray !== 'string') known.set(path, { bytes, mtimeMs, width, height });
      }
    }
    return known;
  }

  get(path: string, key: FileKey): Decoded | undefined {
    const entry = this.entries.get(path);
    if (!entry || entry.key.bytes !== key.bytes || entry.key.mtimeMs !== key.mtimeMs) return undefined;
    this.hits++;
    return entry.decoded;
  }

  put(path: string, key: FileKey, decoded: Decoded): void {
    this.entries.set(path, { key, decoded });
    this.changed = true;
  }

  /**
   * Writes the cache if anything was decoded or a file went away, keeping only entries of files
   * that are there as they were. Returns why it could not, or null.
   */
  save(alive: ReadonlyMap<string, FileKey>): string | null {
    for (const [path, { key }] of this.entries) {
      const now = alive.get(path);
      if (now && now.bytes === key.bytes && now.mtimeMs === key.mtimeMs) continue;
      this.entries.delete(path);
      this.changed = true;
    }
    if (!this.changed) return null;
    const rows: Row[] = [];
    const pixels: Uint8Array[] = [];
    for (const [path, { key, decoded }] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if ('error' in decoded) {
        rows.push([path, key.bytes, key.mtimeMs, 0, 0, decoded.error]);
        continue;
      }
      rows.push([path, key.bytes, key.mtimeMs, decoded.width, decoded.height, decoded.image.gray ? 1 : 0]);
      pixels.push(decoded.image.pixels);
    }
    const header: Header = { root: this.root, imageSize: this.imageSize, resize: this.resize, rows };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(MAGIC.length + 4);
    prefix.write(MAGIC, 'latin1');
    prefix.writeUInt32LE(json.length, MAGIC.length);
    try {
      writeFileAtomic(this.file, Buffer.concat([prefix, json, ...pixels]));
      this.changed = false;
      return null;
    } catch (e) {
      return `could not write the image cache ${this.file} (${(e as Error).message.split('\n')[0]}); set SGAS_CACHE_DIR to a writable folder`;
    }
  }
}
