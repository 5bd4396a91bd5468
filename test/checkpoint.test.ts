// Checkpoint integrity: every flipped bit and every cut is found and named, a damaged newest
// checkpoint falls back to checkpoint.prev.bin, and checkpoints from before the checksum still load.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { Rng } from '../runtime/rng.ts';
import { CHECKPOINT, PREVIOUS_CHECKPOINT, readCheckpoint, writeCheckpoint } from '../src/cli/checkpointFiles.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, verifyCheckpoint } from '../src/search/checkpoint.ts';
import { crc32 } from '../src/search/crc32.ts';

function sample(epoch: number): Uint8Array {
  const rng = new Rng(epoch);
  const tensors = new Map<string, Float32Array>([
    ['cells.0.weight', Float32Array.from({ length: 37 }, () => rng.normal())],
    ['alphas.normal', Float32Array.from({ length: 14 * 8 }, () => rng.normal())],
  ]);
  return encodeCheckpoint({ format: 'test', epoch, note: 'héllo' }, tensors);
}

/** Where the parts of a checkpoint lie: the JSON header's state, its tensor index, and the data. */
function regions(bytes: Uint8Array) {
  const text = Buffer.from(bytes).toString('latin1');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  return { state: text.indexOf('"state"'), index: text.indexOf('"tensors"'), dataStart, headerEnd: 12 + headerLength };
}

const flipped = (bytes: Uint8Array, at: number, bit: number) => {
  const copy = bytes.slice();
  copy[at]! ^= 1 << bit;
  return copy;
};

test('CRC-32 is zlib\'s', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const rng = new Rng(3);
  for (const length of [0, 1, 7, 4096, 100_003]) {
    const bytes = Uint8Array.from({ length }, () => Math.floor(rng.uniform(0, 256)));
    assert.equal(crc32(bytes), zlibCrc32(bytes), `${length} bytes`);
  }
});

test('a checkpoint decodes to what was encoded', () => {
  const bytes = sample(4);
  const { state, tensors } = decodeCheckpoint<{ epoch: number; note: string }>(bytes, 'sample');
  assert.deepEqual(state, { format: 'test', epoch: 4, note: 'héllo' });
  const rng = new Rng(4);
  assert.deepEqual([...tensors.get('cells.0.weight')!], Array.from({ length: 37 }, () => Math.fround(rng.normal())));
  assert.deepEqual(verifyCheckpoint(bytes, 'sample'), { checksummed: true });
  // A Node Buffer that is a view into a larger pool (readFileSync's small files are) reads as its own bytes.
  const pooled = Buffer.concat([Buffer.alloc(13, 7), Buffer.from(bytes), Buffer.alloc(5)]).subarray(13, 13 + bytes.length);
  assert.deepEqual(decodeCheckpoint(pooled, 'pooled').tensors, tensors);
});

test('a flipped bit in the header, the index, the data or the checksum is named as damage', () => {
  const bytes = sample(1);
  const { state, index, dataStart } = regions(bytes);
  const places: [string, number][] = [
    ['magic', 3], ['header length', 8], ['header length (high byte)', 11], ['state', state + 2], ['state', state + 12],
    ['index', index + 3], ['index', index + 30], ['index', regions(bytes).headerEnd - 3], ['first value', dataStart],
    ['middle value', dataStart + 201], ['last value', bytes.length - 5], ['checksum', bytes.length - 1],
  ];
  for (const [where, at] of places) {
    for (const bit of [0, 3, 6]) {
      assert.throws(() => decodeCheckpoint(flipped(bytes, at, bit), 'ckpt'), (e: Error) => {
        assert.ok(e instanceof CheckpointError, `${where}: ${e}`);
        assert.match(e.message, /^ckpt is damaged: /, where);
        return true;
      }, `a flip of bit ${bit} at byte ${at} (${where}) went unnoticed`);
    }
  }
  assert.throws(() => decodeCheckpoint(flipped(bytes, dataStart + 40, 2), 'ckpt'), /checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
});

test('a checkpoint cut anywhere, or with bytes appended, is named as damage', () => {
  const bytes = sample(2);
  const { state, index, dataStart, headerEnd } = regions(bytes);
  for (const length of [0, 5, 8, 11, 12, state, index, headerEnd - 1, dataStart, dataStart + 3, dataStart + 100, bytes.length - 4, bytes.length - 1]) {
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, length), 'ckpt'), /^CheckpointError: ckpt is damaged: truncated/, `cut to ${length} bytes`);
  }
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1), 'ckpt'), new RegExp(`truncated: ${bytes.length - 1} of its ${bytes.length} bytes`));
  const longer = new Uint8Array(bytes.length + 4);
  longer.set(bytes);
  assert.throws(() => decodeCheckpoint(longer, 'ckpt'), /4 bytes past its end/);
  assert.throws(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"}'), 'ckpt'), /does not start as an sgas checkpoint does/);
});

test('a checkpoint from before the checksum (SGASCKP1) still loads, unchecked', () => {
  const current = sample(3);
  const old = current.slice(0, current.length - 4);
  old.set(new TextEncoder().encode('SGASCKP1'), 0);
  assert.deepEqual(verifyCheckpoint(old, 'old'), { checksummed: false });
  assert.deepEqual(decodeCheckpoint(old, 'old'), decodeCheckpoint(current, 'new'));
  assert.throws(() => decodeCheckpoint(old.subarray(0, old.length - 8), 'old'), /truncated/);
});

test('checkpoint.prev.bin keeps the epoch before (an intact one); a damaged newest falls back to it, both damaged is an error naming each', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-ckpt-'));
  const path = join(dir, CHECKPOINT);
  const notes: string[] = [];
  const log = (line: string) => notes.push(line);
  try {
    assert.equal(readCheckpoint(path, log), null);
    for (const epoch of [1, 2, 3]) writeCheckpoint(dir, sample(epoch));
    assert.deepEqual(readFileSync(join(dir, PREVIOUS_CHECKPOINT)), Buffer.from(sample(2)));
    assert.deepEqual(readCheckpoint(path, log), { bytes: sample(3), path });
    assert.deepEqual(notes, []);

    const damaged = flipped(sample(3), regions(sample(3)).dataStart + 17, 5);
    writeFileSync(path, damaged);
    assert.deepEqual(readCheckpoint(path, log), { bytes: sample(2), path: join(dir, PREVIOUS_CHECKPOINT) });
    const stored = new DataView(damaged.buffer).getUint32(damaged.length - 4, true);
    assert.deepEqual(notes, [`${path} is damaged: checksum mismatch (stored ${hex(stored)}, computed ${hex(crc32(damaged.subarray(0, -4)))}): ` +
      `a byte changed after it was written: using ${join(dir, PREVIOUS_CHECKPOINT)}, the checkpoint before it`]);

    writeFileSync(join(dir, PREVIOUS_CHECKPOINT), sample(2).subarray(0, 300));
    assert.throws(() => readCheckpoint(path, log), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, new RegExp(`^no intact checkpoint: ${path} is damaged: checksum mismatch .*; ${join(dir, PREVIOUS_CHECKPOINT)} is damaged: truncated: 300 of its \\d+ bytes$`));
      return true;
    });

    writeCheckpoint(dir, sample(4));
    writeCheckpoint(dir, sample(5));
    notes.length = 0;
    rmSync(path);
    assert.deepEqual(readCheckpoint(path, log)?.bytes, sample(4));
    assert.match(notes[0]!, /checkpoint\.bin is missing: using .*checkpoint\.prev\.bin/);

    const old = sample(6).slice(0, -4);
    old.set(new TextEncoder().encode('SGASCKP1'), 0);
    writeFileSync(path, old);
    notes.length = 0;
    assert.deepEqual(readCheckpoint(path, log)?.bytes, old);
    assert.match(notes[0]!, /was written before checkpoints carried a checksum: read without a check/);

    // A damaged checkpoint.bin is replaced, not kept as the previous one.
    writeCheckpoint(dir, sample(7));
    writeFileSync(path, flipped(sample(7), 40, 1));
    writeCheckpoint(dir, sample(8));
    assert.deepEqual(readFileSync(join(dir, PREVIOUS_CHECKPOINT)), Buffer.from(old));
    assert.deepEqual(readFileSync(path), Buffer.from(sample(8)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
