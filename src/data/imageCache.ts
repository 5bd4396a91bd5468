// The decoded-image cache of image folders: one file per folder, image size and filter, holding
// every image's prepared pixels keyed by its path, byte size and mtime, so the second run on a
// folder reads one file instead of decoding thousands. Corrupt images are cached as their error.
// Where: $SGAS_CACHE_DIR, else $XDG_CACHE_HOME/sgas-webgpu/images, else ~/.cache/sgas-webgpu/images.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../cli/files.ts';
import { DecodedImages, type DecodedRow, type FileKey } from './decodedImages.ts';
import type { Decoded } from './image.ts';
import type { ResizeFilter } from './resample.ts';

const MAGIC = 'SGASIMG1';

interface Header {
  root: string;
  imageSize: [number, number];
  resize: ResizeFilter;
  rows: DecodedRow[];
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
  private constructor(readonly file: string, private readonly root: string, private readonly imageSize: [number, number], private readonly resize: ResizeFilter,
    private readonly images: DecodedImages) {}

  /** The cache of a folder at one image size and filter (empty if there is none yet). */
  static open(root: string, imageSize: [number, number], resize: ResizeFilter): ImageCache {
    const file = join(folderCacheDir(root), `${imageSize[0]}x${imageSize[1]}-${resize}.bin`);
    const found = existsSync(file) ? readHeader(file) : null;
    let images = new DecodedImages();
    if (found) {
      const bytes = readFileSync(file);
      images = DecodedImages.unpack(found.header.rows, new Uint8Array(bytes.buffer, bytes.byteOffset + found.dataStart, bytes.length - found.dataStart), imageSize);
    }
    return new ImageCache(file, resolve(root), imageSize, resize, images);
  }

  /** Original sizes of the folder's files as any of its caches knows them, for the default image size. */
  static knownDimensions(root: string): Map<string, FileKey & { width: number; height: number }> {
    const dir = folderCacheDir(root);
    if (!existsSync(dir)) return new Map();
    const rows = readdirSync(dir).filter((n) => n.endsWith('.bin')).flatMap((name) => readHeader(join(dir, name))?.header.rows ?? []);
    return DecodedImages.dimensions(rows);
  }

  get hits(): number {
    return this.images.hits;
  }

  get(path: string, key: FileKey): Decoded | undefined {
    return this.images.get(path, key);
  }

  put(path: string, key: FileKey, decoded: Decoded): void {
    this.images.put(path, key, decoded);
  }

  /**
   * Writes the cache if anything was decoded or a file went away, keeping only entries of files
   * that are there as they were. Returns why it could not, or null.
   */
  save(alive: ReadonlyMap<string, FileKey>): string | null {
    this.images.keepAlive(alive);
    if (!this.images.changed) return null;
    const { rows, pixels } = this.images.pack();
    const header: Header = { root: this.root, imageSize: this.imageSize, resize: this.resize, rows };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(MAGIC.length + 4);
    prefix.write(MAGIC, 'latin1');
    prefix.writeUInt32LE(json.length, MAGIC.length);
    try {
      writeFileAtomic(this.file, Buffer.concat([prefix, json, ...pixels]));
      this.images.changed = false;
      return null;
    } catch (e) {
      return `could not write the image cache ${this.file} (${(e as Error).message.split('\n')[0]}); set SGAS_CACHE_DIR to a writable folder`;
    }
  }
}
