// Crash sweep: a tiny `sgas search` is killed with SIGKILL at 30 seeded moments, and `sgas train`
// at 10, each time resumed from what the killed process left: some moments are times after a
// step (a kill from outside, wherever the process then is), the others fall inside a checkpoint
// write (test/helpers/crashPoint.mjs: part of the bytes written, the old checkpoint just renamed,
// the new one just renamed in). Every resume takes over the dead process's lock and goes on, and
// the run ends with an uninterrupted run's genotype, alphas and every tensor, bit for bit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Rng } from '../runtime/rng.ts';
import { decodeCheckpoint, verifyCheckpoint } from '../src/search/checkpoint.ts';
import { buildCli, finished, run, sgas, type Finished } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sgas-crash-'));
const CRASH_POINT = ['--import', new URL('./helpers/crashPoint.mjs', import.meta.url).href];

before(buildCli);
after(() => rmSync(dir, { recursive: true, force: true }));

interface Sweep {
  command: 'search' | 'train';
  /** The flags of a new run, without --out. */
  flags: string[];
  epochs: number;
  moments: number;
  seed: number;
  /** Kills from outside come at most this long after a step: less than the 3 epochs left after it take. */
  maxDelayMs: number;
}

type Moment =
  | { kind: 'time'; epoch: number; delayMs: number }
  | { kind: 'write'; epoch: number; stage: 'data' | 'previous' | 'renamed'; fraction: number };

/** Epochs a run folder's checkpoint.bin holds (0 without one). */
function savedEpochs(out: string): number {
  const path = join(out, 'checkpoint.bin');
  if (!existsSync(path)) return 0;
  const bytes = new Uint8Array(readFileSync(path));
  verifyCheckpoint(bytes, path);
  return decodeCheckpoint<{ records: unknown[] }>(bytes, path).state.records.length;
}

/**
 * The i-th moment: the kills move through the run's epochs as i grows, never before what is saved.
 * A kill from outside comes after the step of an epoch with three more after it, and a kill in the
 * last checkpoint write comes before the write is done, so no moment comes after the run has ended.
 */
function moment(rng: Rng, i: number, sweep: Sweep, saved: number): Moment {
  const last = sweep.epochs - 1;
  const epoch = Math.min(last, Math.max(saved, Math.floor((i * sweep.epochs) / sweep.moments)));
  if (epoch < last - 2 && rng.uniform(0, 1) < 0.6) return { kind: 'time', epoch, delayMs: Math.floor(rng.uniform(0, sweep.maxDelayMs)) };
  const stages = (['data', 'previous', 'renamed'] as const).filter((s) => (s !== 'previous' || epoch > 0) && (s !== 'renamed' || epoch < last));
  return { kind: 'write', epoch, stage: stages[Math.floor(rng.uniform(0, stages.length))]!, fraction: Number(rng.uniform(0.05, 0.95).toFixed(2)) };
}

/** Starts `sgas ARGS` and kills it at the moment; resolves with how it ended. */
function killAt(args: string[], m: Moment, saved: number, epochs: number): Promise<Finished> {
  if (m.kind === 'write') {
    const crash = `${m.stage}:${m.epoch - saved + 1}:${m.fraction}`;
    return finished(sgas(args, { env: { ...process.env, SGAS_TEST_CRASH: crash } }, CRASH_POINT));
  }
  const child = sgas(args);
  const stepDone = new RegExp(`^epoch ${m.epoch + 1}/${epochs} step`, 'm');
  let seen = '';
  child.stderr!.on('data', (d) => {
    const before = seen;
    seen += d;
    if (!stepDone.test(before) && stepDone.test(seen)) setTimeout(() => child.kill('SIGKILL'), m.delayMs);
  });
  return finished(child);
}

const describeMoment = (m: Moment) =>
  m.kind === 'time' ? `${m.delayMs} ms after the step of epoch ${m.epoch + 1}` : `checkpoint write of epoch ${m.epoch + 1}, ${m.stage}${m.stage === 'data' ? ` at ${m.fraction}` : ''}`;

/** Runs the sweep in `out` and returns the final, uninterrupted resume. */
async function crashSweep(t: TestContext, sweep: Sweep, out: string): Promise<Finished> {
  const rng = new Rng(sweep.seed);
  const fresh = [sweep.command, ...sweep.flags, '--out', out, '--backend', 'wasm'];
  const resume = [sweep.command, '--resume', out, '--backend', 'wasm'];
  let killed: number | null = null;
  for (let i = 0; i < sweep.moments; i++) {
    const saved = savedEpochs(out);
    const m = moment(rng, i, sweep, saved);
    const started = existsSync(join(out, 'run.json'));
    const result = await killAt(started ? resume : fresh, m, saved, sweep.epochs);
    const what = `moment ${i + 1} (${describeMoment(m)}, after ${saved} saved epochs)`;
    t.diagnostic(what);
    assert.equal(result.signal, 'SIGKILL', `${what}: not killed (exit ${result.code}): ${result.stderr}`);
    if (killed !== null) assert.match(result.stderr, new RegExp(`taking over the lock of pid ${killed} \\(no longer running\\)`), what);
    if (saved) assert.match(result.stderr, new RegExp(`sgas ${sweep.command}: resuming at epoch ${saved + 1} of ${sweep.epochs}`), what);
    else if (started) assert.match(result.stderr, /no checkpoint yet .*; starting it again from run\.json/, what);
    killed = result.pid;
    // Whatever the moment, checkpoint.bin is whole, and the run never goes back.
    assert.ok(savedEpochs(out) >= saved, what);
  }
  const last = await run(resume);
  assert.equal(last.code, 0, last.stderr);
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp') || f === 'run.lock'), [], 'no temp file or lock is left');
  return last;
}

/** Every tensor of two checkpoints, bit for bit. */
function assertSameTensors(got: string, want: string): void {
  const read = (path: string) => decodeCheckpoint(new Uint8Array(readFileSync(path)), path).tensors;
  const [a, b] = [read(got), read(want)];
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, values] of a) assert.ok(Buffer.from(values.buffer).equals(Buffer.from(b.get(name)!.buffer)), `${name} differs`);
}

function flipBit(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at]! ^= 0x04;
  writeFileSync(path, bytes);
}

/** log.jsonl without its times: each epoch once, as the uninterrupted run logged it. */
const epochs = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => {
    const { time: _time, seconds: _seconds, ...record } = JSON.parse(line);
    return record;
  });

describe('crash sweeps', { concurrency: true }, () => {

  test('sgas search --preset tiny killed at 30 moments ends as the uninterrupted search, bit for bit', async (t) => {
    const sweep: Sweep = { command: 'search', flags: ['--preset', 'tiny', '--seed', '5'], epochs: 9, moments: 30, seed: 30, maxDelayMs: 150 };
    const [reference, last] = await Promise.all([
      run([sweep.command, ...sweep.flags, '--out', join(dir, 'search-reference'), '--backend', 'wasm']),
      crashSweep(t, sweep, join(dir, 'search')),
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    assert.equal(last.stdout, reference.stdout, 'the genotype line');
    const report = (out: string) => JSON.parse(readFileSync(join(out, 'genotype.json'), 'utf8'));
    const [got, want] = [report(join(dir, 'search')), report(join(dir, 'search-reference'))];
    assert.deepEqual(got.genotype, want.genotype);
    assert.deepEqual(got.alphas, want.alphas);
    assertSameTensors(join(dir, 'search', 'checkpoint.bin'), join(dir, 'search-reference', 'checkpoint.bin'));
    assert.deepEqual(epochs(join(dir, 'search')), epochs(join(dir, 'search-reference')));

    // A flipped bit in the final checkpoint: the resume says so, takes checkpoint.prev.bin, runs the
    // last epoch again and ends the same; with the previous one damaged too, it names both.
    const out = join(dir, 'search');
    flipBit(join(out, 'checkpoint.bin'), 5000);
    const again = await run(['search', '--resume', out, '--backend', 'wasm']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`^${out}/checkpoint\\.bin is damaged: checksum mismatch .*: using ${out}/checkpoint\\.prev\\.bin, the checkpoint before it$`, 'm'));
    assert.match(again.stderr, /resuming at epoch 9 of 9/);
    assert.equal(again.stdout, reference.stdout);
    assertSameTensors(join(out, 'checkpoint.bin'), join(dir, 'search-reference', 'checkpoint.bin'));
    flipBit(join(out, 'checkpoint.bin'), 5000);
    flipBit(join(out, 'checkpoint.prev.bin'), 40);
    const neither = await run(['search', '--resume', out, '--backend', 'wasm']);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, new RegExp(`^sgas: no intact checkpoint: ${out}/checkpoint\\.bin is damaged: checksum mismatch [^;]*; ${out}/checkpoint\\.prev\\.bin is damaged: .*$`, 'm'));
  });

  test('sgas train killed at 10 moments ends as the uninterrupted training, bit for bit', async (t) => {
    const flags = ['--genotype', 'Cri2_CIFAR_Best', '--init-channels', '2', '--layers', '3', '--image-size', '8', '--max-images', '32',
      '--max-test-images', '16', '--batch-size', '16', '--epochs', '8', '--cutout-length', '3', '--drop-path-prob', '0.5', '--seed', '4'];
    const sweep: Sweep = { command: 'train', flags, epochs: 8, moments: 10, seed: 10, maxDelayMs: 50 };
    const [reference, last] = await Promise.all([
      run([sweep.command, ...sweep.flags, '--out', join(dir, 'train-reference'), '--backend', 'wasm']),
      crashSweep(t, sweep, join(dir, 'train')),
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    assert.equal(last.stdout, reference.stdout, 'the test accuracy line');
    assertSameTensors(join(dir, 'train', 'checkpoint.bin'), join(dir, 'train-reference', 'checkpoint.bin'));
    assert.deepEqual(epochs(join(dir, 'train')), epochs(join(dir, 'train-reference')));
  });
});
