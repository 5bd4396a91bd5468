// A sweep's jobs against the values their presets have today: --reuse copies only the jobs that
// are the same (config, genotype, data), and a sweep whose runs were made with other values than
// its preset now gives is refused rather than passed off as the new one.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { reproducingCommand } from '../bench/quality.ts';
import type { SweepSpec } from '../src/sweep/plan.ts';
import { sweep } from '../src/sweep/sweep.ts';
import { buildCli, run } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sgas-reuse-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const reusedLine = (lines: string[]) => lines.find((l) => /reused from/.test(l)) ?? lines.join('\n');

const spec: SweepSpec = { seeds: [1], criteria: [1], preset: 'tiny', trainPreset: 'tiny', random: 1, baselines: [], trainOverrides: { epochs: 1 } };
const JOBS = ['search-cri1-seed1', 'train-cri1-seed1', 'train-random-1'];

test('--reuse: a new search setting takes the random cells already trained, the same sweep takes every job, another training none', async () => {
  const first = join(dir, 'first');
  const firstBoard = await sweep({ ...spec, out: first, backend: 'wasm' });

  // Another search learning rate: the search and the training of its cell run; the random cell is the same job.
  const lines: string[] = [];
  const other = join(dir, 'other-search');
  await sweep({ ...spec, searchOverrides: { learningRate: 0.1 }, out: other, backend: 'wasm', reuse: first }, { log: (l) => lines.push(l) });
  assert.match(reusedLine(lines), /1 finished job reused from .*first \(train-random-1\)$/);
  assert.ok(lines.some((l) => /search-cri1-seed1: starting/.test(l)) && lines.some((l) => /train-cri1-seed1: starting/.test(l)), lines.join('\n'));
  assert.deepEqual(readJson(join(other, 'train-random-1', 'result.json')), readJson(join(first, 'train-random-1', 'result.json')));
  assert.equal(readJson(join(other, 'search-cri1-seed1', 'run.json')).config.learningRate, 0.1);

  // The same sweep: every job copied, nothing run, the same leaderboard.
  lines.length = 0;
  const same = join(dir, 'same');
  const board = await sweep({ ...spec, out: same, backend: 'wasm', reuse: first }, { log: (l) => lines.push(l) });
  assert.match(reusedLine(lines), new RegExp(`3 finished jobs reused from .*first \\(${JOBS.join(', ')}\\)$`));
  assert.ok(!lines.some((l) => /: starting/.test(l)), lines.join('\n'));
  assert.deepEqual(board.groups, firstBoard.groups);
  assert.ok(!existsSync(join(dir, 'same', 'search-cri1-seed1.reuse.tmp')));

  // Another training: the search is the same job, no training is.
  lines.length = 0;
  await sweep({ ...spec, trainOverrides: { epochs: 2 }, out: join(dir, 'longer'), backend: 'wasm', reuse: first }, { log: (l) => lines.push(l) });
  assert.match(reusedLine(lines), /1 finished job reused from .*first \(search-cri1-seed1\)$/);
  assert.equal(readFileSync(join(dir, 'longer', 'train-random-1', 'log.jsonl'), 'utf8').trim().split('\n').length, 2);

  await assert.rejects(sweep({ ...spec, out: join(dir, 'none'), reuse: join(dir, 'missing') }), /--reuse .*missing: no sweep there/);
  await assert.rejects(sweep({ ...spec, data: { dir: '/elsewhere' }, out: join(dir, 'data'), reuse: first }), /--reuse .*first: that sweep ran on other data/);
});

test('a sweep whose runs were made with other values than its preset gives today is refused, not continued', async () => {
  const out = join(dir, 'stale');
  await sweep({ ...spec, random: 0, out, backend: 'wasm' });
  // As if the tiny preset's images had changed since the search ran.
  const runFile = join(out, 'search-cri1-seed1', 'run.json');
  const ran = readJson(runFile);
  writeFileSync(runFile, JSON.stringify({ ...ran, config: { ...ran.config, maxImages: 64 } }));
  await assert.rejects(sweep({ ...spec, random: 0, out, backend: 'wasm' }),
    /search-cri1-seed1 ran with maxImages 64, where its preset now gives 32: the job changed since this sweep began; choose another --out \(--reuse .*stale takes the jobs that still match\)/);

  // A training of another genotype than its search found.
  writeFileSync(runFile, JSON.stringify(ran));
  const trainFile = join(out, 'train-cri1-seed1', 'run.json');
  const trained = readJson(trainFile);
  writeFileSync(trainFile, JSON.stringify({ ...trained, python: trained.python.replace(/'(\w+)', 0\)/, "'none', 0)") }));
  await assert.rejects(sweep({ ...spec, random: 0, out, backend: 'wasm' }), /train-cri1-seed1 ran with another genotype/);
});

test('sgas sweep --reuse with --redis is refused; the study shows the command that reproduces it without --reuse', async () => {
  buildCli();
  const { code, stderr } = await run(['sweep', '--seeds', '1', '--redis', 'redis://127.0.0.1:9', '--reuse', dir]);
  assert.equal(code, 2);
  assert.equal(stderr.trim(), 'sgas: --reuse copies finished jobs into a sweep on this machine; with --redis, run the sweep without it');
  assert.equal(reproducingCommand(['--reuse', 'runs/a', '--train-flags', '--epochs 5', '--reuse=runs/b', '--out', 'runs/q']),
    "npm run quality -- --train-flags '--epochs 5' --out runs/q");
});

test("--train-seeds: a sweep training each cell twice takes a single-seed sweep's trainings as seed 0's, and a cell's accuracy is its trainings' mean", async () => {
  const once = join(dir, 'seeds-once');
  await sweep({ ...spec, out: once, backend: 'wasm' });
  const lines: string[] = [];
  const twice = join(dir, 'seeds-twice');
  const board = await sweep({ ...spec, trainSeeds: [0, 1], out: twice, backend: 'wasm', reuse: once }, { log: (l) => lines.push(l) });
  assert.match(reusedLine(lines), new RegExp(`3 finished jobs reused from .*seeds-once \\(${JOBS.join(', ')}\\)$`));
  assert.deepEqual(lines.filter((l) => /: starting/.test(l)).map((l) => l.replace(/^\[\d+\/\d+\] /, '').split(':')[0]), ['train-cri1-seed1-tseed1', 'train-random-1-tseed1']);

  for (const cell of ['train-cri1-seed1', 'train-random-1']) {
    const [first, second] = [cell, `${cell}-tseed1`].map((name) => readJson(join(twice, name, 'result.json')));
    assert.deepEqual([readJson(join(twice, cell, 'run.json')).config.seed, readJson(join(twice, `${cell}-tseed1`, 'run.json')).config.seed], [0, 1]);
    assert.equal(second.python, first.python, 'both trainings train the same cell');
    assert.notEqual(second.testAccuracy, first.testAccuracy, 'the training seed changed nothing');
    const row = board.runs.find((r) => r.name === (cell === 'train-cri1-seed1' ? 'search-cri1-seed1' : cell))!;
    assert.deepEqual(row.testAccuracies, [first.testAccuracy, second.testAccuracy]);
    assert.equal(row.testAccuracy, (first.testAccuracy + second.testAccuracy) / 2);
    assert.equal(row.trainSeconds, first.seconds + second.seconds);
    const group = board.groups.find((g) => g.group === row.group)!;
    // One cell of two trainings: the sample std of the pair.
    assert.ok(Math.abs(group.trainingNoise! - Math.abs(first.testAccuracy - second.testAccuracy) / Math.SQRT2) < 1e-12, `noise ${group.trainingNoise}`);
  }
  const markdown = readFileSync(join(twice, 'leaderboard.md'), 'utf8');
  assert.match(markdown, /each 2 times \(training seeds 0, 1; a cell's test accuracy is the mean/);
  assert.match(markdown, /\| group \| runs \| search valid accuracy \| test accuracy \| training noise \|/);
});
