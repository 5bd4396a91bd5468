// The decoded images of one folder at one image size and filter, each under its file's path and
// what identifies the file's content (byte size, modification time), with undecodable files kept
// as their error. Free of Node APIs: the CLI's cache file holds one (imageCache.ts), and so does
// the page's IndexedDB record of a folder. Packed, it is rows of JSON and one run of 8-bit pixels.
import type { Decoded } from './image.ts';

/** What identifies a file's content without reading it. */
export interface FileKey {
  bytes: number;
  mtimeMs: number;
}

/** [path, bytes, mtimeMs, width, height, gray (0 or 1) or the decoding error]. */
export type DecodedRow = [string, number, number, number, number, number | string];

export class DecodedImages {
  private readonly entries = new Map<string, { key: FileKey; decoded: Decoded }>();
  /** Whether an entry was added or dropped since the images were unpacked. */
  changed = false;
  hits = 0;

  /** Images packed by `pack`; rows whose pixels `bytes` does not hold (a cut-off file) are left out. */
  static unpack(rows: readonly DecodedRow[], bytes: Uint8Array, [height, width]: readonly [number, number]): DecodedImages {
    const images = new DecodedImages();
    let offset = 0;
    for (const [path, size, mtimeMs, w, h, gray] of rows) {
      const key = { bytes: size, mtimeMs };
      if (typeof gray === 'string') {
        images.entries.set(path, { key, decoded: { error: gray } });
        continue;
      }
      const length = (gray ? 1 : 3) * height * width;
      if (offset + length > bytes.length) break;
      images.entries.set(path, { key, decoded: { width: w, height: h, image: { gray: gray === 1, pixels: bytes.subarray(offset, offset + length) } } });
      offset += length;
    }
    return images;
  }

  /** Original sizes by path, from rows, for the default image size. */
  static dimensions(rows: readonly DecodedRow[]): Map<string, FileKey & { width: number; height: number }> {
    const known = new Map<string, FileKey & { width: number; height: number }>();
    for (const [path, bytes, mtimeMs, width, height, gray] of rows) if (typeof gray !== 'string') known.set(path, { bytes, mtimeMs, width, height });
    return known;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The file's entry if it was decoded from the file as it is now (`key`), or from any version where no key is given. */
  get(path: string, key?: FileKey): Decoded | undefined {
    const entry = this.entries.get(path);
    if (!entry || (key && (entry.key.bytes !== key.bytes || entry.key.mtimeMs !== key.mtimeMs))) return undefined;
    this.hits++;
    return entry.decoded;
  }

  put(path: string, key: FileKey, decoded: Decoded): void {
    this.entries.set(path, { key, decoded });
    this.changed = true;
  }

  /** Drops the entries of files that are gone or changed: `alive` holds each file as it is now. */
  keepAlive(alive: ReadonlyMap<string, FileKey>): void {
    for (const [path, { key }] of this.entries) {
      const now = alive.get(path);
      if (now && now.bytes === key.bytes && now.mtimeMs === key.mtimeMs) continue;
      this.entries.delete(path);
      this.changed = true;
    }
  }

  /** Rows sorted by path (of the paths `only` lets through), and the pixels of the decoded ones in the same order. */
  pack(only: (path: string) => boolean = () => true): { rows: DecodedRow[]; pixels: Uint8Array[] } {
    const rows: DecodedRow[] = [];
    const pixels: Uint8Array[] = [];
    for (const [path, { key, decoded }] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!only(path)) continue;
      if ('error' in decoded) {
        rows.push([path, key.bytes, key.mtimeMs, 0, 0, decoded.error]);
        continue;
      }
      rows.push([path, key.bytes, key.mtimeMs, decoded.width, decoded.height, decoded.image.gray ? 1 : 0]);
      pixels.push(decoded.image.pixels);
    }
    return { rows, pixels };
  }
}
