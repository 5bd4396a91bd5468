// Checkpoint bytes: "SGASCKP2", a u32 header length, a JSON header (state and tensor index),
// every tensor's float32 values in index order from the next multiple of 4, then a u32 CRC-32 of
// all the bytes before it. The same bytes go to a file in Node and to IndexedDB in a browser.
// "SGASCKP1" files, written before the checksum, are the same without it and are still read.
import { crc32 } from './crc32.ts';

const MAGIC = 'SGASCKP2';
const UNCHECKED_MAGIC = 'SGASCKP1';
const PREFIX = MAGIC.length + 4;
const CHECKSUM_BYTES = 4;

export interface TensorIndexEntry {
  name: string;
  length: number;
}

export interface CheckpointFile<S> {
  state: S;
  tensors: Map<string, Float32Array>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

interface Layout<S> {
  header: { state: S; tensors: TensorIndexEntry[] };
  dataStart: number;
  /** False for an SGASCKP1 file, which has no checksum to check. */
  checksummed: boolean;
}

const dataStartAfter = (headerLength: number) => Math.ceil((PREFIX + headerLength) / 4) * 4;
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

export function encodeCheckpoint<S>(state: S, tensors: Map<string, Float32Array>): Uint8Array {
  const index: TensorIndexEntry[] = [...tensors].map(([name, data]) => ({ name, length: data.length }));
  const header = new TextEncoder().encode(JSON.stringify({ state, tensors: index }));
  const dataStart = dataStartAfter(header.length);
  const total = dataStart + index.reduce((s, t) => s + t.length * 4, 0) + CHECKSUM_BYTES;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(MAGIC.length, header.length, true);
  bytes.set(header, PREFIX);
  let offset = dataStart;
  for (const data of tensors.values()) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  view.setUint32(offset, crc32(bytes.subarray(0, offset)), true);
  return bytes;
}

/**
 * Finds the header and checks that every byte is as written: each way a file can be damaged
 * (cut short, a flipped bit anywhere, bytes appended) is a CheckpointError that names it.
 */
function layout<S>(bytes: Uint8Array, source: string): Layout<S> {
  const damaged = (why: string): never => {
    throw new CheckpointError(`${source} is damaged: ${why}`);
  };
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC && magic !== UNCHECKED_MAGIC) {
    if (bytes.length < MAGIC.length && MAGIC.startsWith(magic)) damaged(`truncated to ${bytes.length} bytes`);
    damaged('it does not start as an sgas checkpoint does ("SGASCKP"); a file written by something else, or its first bytes were overwritten');
  }
  const checksummed = magic === MAGIC;
  if (bytes.length < PREFIX) damaged(`truncated to ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  // A checksum over everything catches any flipped bit; the rest says what else went wrong, when it can.
  const stored = checksummed && bytes.length >= PREFIX + CHECKSUM_BYTES ? view.getUint32(bytes.length - CHECKSUM_BYTES, true) : 0;
  const computed = checksummed ? crc32(bytes.subarray(0, Math.max(PREFIX, bytes.length - CHECKSUM_BYTES))) : 0;
  let header: Layout<S>['header'] | null = null;
  if (PREFIX + headerLength <= bytes.length) {
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headerLength)));
    } catch {
      header = null;
    }
  }
  const indexOk = header !== null && Array.isArray(header.tensors) &&
    header.tensors.every((t) => typeof t?.name === 'string' && Number.isSafeInteger(t.length) && t.length >= 0);
  if (indexOk) {
    const dataStart = dataStartAfter(headerLength);
    const expected = dataStart + header!.tensors.reduce((s, t) => s + t.length * 4, 0) + (checksummed ? CHECKSUM_BYTES : 0);
    if (stored === computed && bytes.length === expected) return { header: header!, dataStart, checksummed };
    if (bytes.length < expected) damaged(`truncated: ${bytes.length} of its ${expected} bytes`);
    if (bytes.length > expected) damaged(`${bytes.length - expected} bytes past its end`);
  } else if (PREFIX + headerLength > bytes.length) {
    damaged(`truncated in its header (${bytes.length} bytes, the header alone claims ${headerLength})`);
  } else if (!checksummed || stored === computed) {
    damaged('its header is not readable');
  }
  return damaged(`checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)}): a byte changed after it was written`);
}

/**
 * Checks bytes without decoding them. checksummed: false for an SGASCKP1 file, which is read
 * unchecked (there is nothing to check it against).
 */
export function verifyCheckpoint(bytes: Uint8Array, source: string): { checksummed: boolean } {
  return { checksummed: layout(bytes, source).checksummed };
}

export function decodeCheckpoint<S>(bytes: Uint8Array, source: string): CheckpointFile<S> {
  const { header, dataStart } = layout<S>(bytes, source);
  let offset = dataStart;
  const tensors = new Map<string, Float32Array>();
  for (const { name, length } of header.tensors) {
    // A copy of the bytes' own range: a Node Buffer's slice() is a view into a shared pool.
    const start = bytes.byteOffset + offset;
    tensors.set(name, new Float32Array(bytes.buffer.slice(start, start + length * 4)));
    offset += length * 4;
  }
  return { state: header.state, tensors };
}
