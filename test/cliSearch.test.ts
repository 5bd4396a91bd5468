// `sgas search` end to end on the embedded data, and its refusals before any GPU work.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebGpuBackend } from '../runtime/index.ts';
import { backendFlag } from '../src/cli/args.ts';
import type { StepProfile } from '../src/cli/profile.ts';
import { searchCommand } from '../src/cli/search.ts';
import { countParameters } from '../src/eval/parameters.ts';
import { parseGenotype } from '../src/search/genotype.ts';
import { buildCli, finished, sgas } from './helpers/cli.ts';
import { gpu } from './helpers/gpu.ts';

const noGpu = async () => {
  throw new Error('the GPU must not be touched before the flags and data are checked');
};

test('bad flags, presets and data fail before any work, naming the problem', async () => {
  await assert.rejects(searchCommand(['--bogus'], noGpu), /search: Unknown option '--bogus'/);
  await assert.rejects(searchCommand(['--preset', 'huge'], noGpu), /--preset huge: unknown preset \(presets: sgas-cifar10, cpu, tiny\)/);
  await assert.rejects(searchCommand(['--layers', 'two'], noGpu), /--layers two: expected an integer/);
  await assert.rejects(searchCommand(['--criterion', '3'], noGpu), /--criterion 3: expected 1 or 2/);
  await assert.rejects(searchCommand(['--recompute', 'sometimes'], noGpu), /--recompute sometimes: expected auto, cells, off/);
  await assert.rejects(searchCommand(['--layers', '2'], noGpu), /--layers 2: expected an integer >= 3/);
  await assert.rejects(searchCommand(['--image-size', '6'], noGpu), /imageSize must be a multiple of 4/);
  await assert.rejects(searchCommand(['--stop-after', '0'], noGpu), /--stop-after 0: expected a positive integer/);
  await assert.rejects(searchCommand(['--browser', '--profile'], noGpu), /--profile: for searches in Node/);
  const empty = mkdtempSync(join(tmpdir(), 'sgas-data-'));
  try {
    await assert.rejects(searchCommand(['--data', empty, '--out', join(empty, 'out')], noGpu), (e: Error) => e.message.includes(empty));
    writeFileSync(join(empty, 'train-images-idx3-ubyte.gz'), 'not gzip');
    writeFileSync(join(empty, 'train-labels-idx1-ubyte.gz'), 'not gzip');
    await assert.rejects(searchCommand(['--data', empty, '--out', join(empty, 'out')], noGpu), /train-images-idx3-ubyte\.gz/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  await assert.rejects(searchCommand(['--resume', '/nonexistent/run'], noGpu), /no checkpoint\.bin there/);
});

test('sgas search --preset tiny writes the genotype, the log, the plots and a checkpoint', async () => {
  const out = mkdtempSync(join(tmpdir(), 'sgas-search-'));
  try {
    const backend = await gpu();
    // Four epochs now (--stop-after), the other five on resuming.
    assert.equal(await searchCommand(['--preset', 'tiny', '--seed', '5', '--out', out, '--stop-after', '4'], async () => backend), 0);
    assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 4);
    assert.equal(existsSync(join(out, 'genotype.json')), false);
    assert.equal(await searchCommand(['--resume', out, '--profile'], async () => backend), 0);
    const result = JSON.parse(readFileSync(join(out, 'genotype.json'), 'utf8'));
    const genotype = parseGenotype(readFileSync(join(out, 'genotype.json'), 'utf8'));
    assert.equal(genotype.normal.length, 8);
    assert.deepEqual(parseGenotype(result.python), genotype);
    assert.equal(result.seed, 5);
    const cpuNetwork = { C: 8, layers: 8, classes: 10, inputChannels: 1, auxiliary: false, auxiliaryScaled: true };
    assert.deepEqual(result.trainParameters, { preset: 'cpu', initChannels: 8, layers: 8, count: countParameters(genotype, cpuNetwork).network });
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).trainParameters, result.trainParameters, 'run.json says it too');
    assert.equal(result.alphas.normal.length, 14);
    for (const row of result.alphas.reduce) assert.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(log.length, 9);
    assert.deepEqual(log.map((r) => r.epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(log.every((r) => r.cells.normal.score.length === 14 && Number.isFinite(r.trainLoss) && r.lr > 0));
    assert.equal(log.filter((r) => r.cells.normal.decided).length, 8, 'eight normal edges are decided');
    assert.ok(existsSync(join(out, 'checkpoint.bin')));
    for (const svg of ['curves_loss', 'curves_accuracy', 'scores_normal', 'scores_reduce', 'alphas_normal', 'alphas_reduce',
      'alpha_trajectories_normal', 'cell_normal', 'cell_reduce']) {
      const text = readFileSync(join(out, `${svg}.svg`), 'utf8');
      assert.match(text, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${svg}.svg is an SVG document`);
    }
    assert.match(readFileSync(join(out, 'cell_normal.svg'), 'utf8'), new RegExp(genotype.normal[0]![0]));
    if (backend instanceof WebGpuBackend) {
      // --profile: the kernels of the resumed run's 5 training steps, by SwiftShader's timestamp queries.
      const profile = JSON.parse(readFileSync(join(out, 'profile.json'), 'utf8')) as StepProfile;
      assert.deepEqual([profile.method, profile.steps], ['timestamp-query', 5]);
      assert.ok(profile.dispatchesPerStep > 1000 && profile.submitsPerStep >= 2 && profile.submitsPerStep < 50, JSON.stringify(profile).slice(0, 200));
      const gemm = profile.kernels.find((k) => k.kernel === 'matmul/gemm')!;
      assert.ok(gemm.callsPerStep > 100 && gemm.msPerStep > 0 && gemm.share > 0.01);
      assert.ok(Math.abs(profile.kernels.reduce((s, k) => s + k.share, 0) - 1) < 1e-9);
      assert.ok(Math.abs(profile.kernels.reduce((s, k) => s + k.msPerStep, 0) - profile.stepMs) < 1e-6 * profile.stepMs);
    }
    // Resuming a finished search rewrites the same result.
    assert.equal(await searchCommand(['--resume', out], async () => backend), 0);
    assert.deepEqual(parseGenotype(readFileSync(join(out, 'genotype.json'), 'utf8')), genotype);
    await assert.rejects(searchCommand(['--preset', 'tiny', '--out', out], noGpu), /already holds a search checkpoint/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--backend, --adapter and --kernels are taken by every command and checked', () => {
  assert.deepEqual(backendFlag(['--preset', 'tiny', '--backend', 'wasm']), { choice: 'wasm', argv: ['--preset', 'tiny'] });
  assert.deepEqual(backendFlag(['--backend=webgpu']), { choice: 'webgpu', argv: [] });
  assert.deepEqual(backendFlag([]), { choice: 'auto', argv: [] });
  assert.throws(() => backendFlag(['--backend', 'cuda']), /--backend cuda: expected one of auto, webgpu, wasm/);
  assert.deepEqual(backendFlag(['--kernels', 'tiled', '--adapter=llvmpipe']), { choice: 'auto', kernels: 'tiled', adapter: 'llvmpipe', argv: [] });
  assert.throws(() => backendFlag(['--kernels', 'fast']), /--kernels fast: expected one of auto, tune, plain, tiled/);
});

test('Ctrl-C stops a search on the WebAssembly backend after the step in progress, its checkpoint saved', async () => {
  buildCli();
  const out = mkdtempSync(join(tmpdir(), 'sgas-search-stop-'));
  try {
    const child = sgas(['search', '--preset', 'tiny', '--max-images', '256', '--backend', 'wasm', '--out', out]);
    const done = finished(child);
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/epoch 1\/9  train loss/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const { code } = await done;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /sgas search: stopped in epoch 2 after step \d+; its checkpoint is saved: continue with sgas search --resume /);
    assert.ok(existsSync(join(out, 'checkpoint.bin')) && !existsSync(join(out, 'genotype.json')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
