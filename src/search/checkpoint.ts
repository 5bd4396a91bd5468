// Checkpoint bytes: "SGASCKP1", a u32 header length, a JSON header (state and tensor index),
// then every tensor's float32 values in index order. The same bytes go to a file in Node and
// to IndexedDB in a browser.
const MAGIC = 'SGASCKP1';

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

export function encodeCheckpoint<S>(state: S, tensors: Map<string, Float32Array>): Uint8Array {
  const index: TensorIndexEntry[] = [...tensors].map(([name, data]) => ({ name, length: data.length }));
  const header = new TextEncoder().encode(JSON.stringify({ state, tensors: index }));
  const headerEnd = MAGIC.length + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = dataStart + index.reduce((s, t) => s + t.length * 4, 0);
  const bytes = new Uint8Array(total);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, header.length, true);
  bytes.set(header, MAGIC.length + 4);
  let offset = dataStart;
  for (const data of tensors.values()) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  return bytes;
}

export function decodeCheckpoint<S>(bytes: Uint8Array, source: string): CheckpointFile<S> {
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: ${why}; use a checkpoint written by this version of sgas (checkpoint.bin)`);
  };
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) fail('not an sgas checkpoint');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > bytes.length) fail('truncated header');
  let header: { state: S; tensors: TensorIndexEntry[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, headerEnd)));
  } catch {
    return fail('corrupt header');
  }
  let offset = Math.ceil(headerEnd / 4) * 4;
  const tensors = new Map<string, Float32Array>();
  for (const { name, length } of header.tensors) {
    if (offset + length * 4 > bytes.length) fail(`truncated at tensor '${name}'`);
    tensors.set(name, new Float32Array(bytes.slice(offset, offset + length * 4).buffer));
    offset += length * 4;
  }
  if (offset !== bytes.length) fail(`${bytes.length - offset} unexpected trailing bytes`);
  return { state: header.state, tensors };
}
