// sgas sweep on this machine: the plan, the jobs' folders, stopping and continuing, a job that
// fails three times, and the leaderboard's numbers against the folders they come from.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { search } from '../src/jobs/search.ts';
import { randomGenotype } from '../src/search/randomGenotype.ts';
import { genotypeToPython } from '../src/search/genotype.ts';
import { STEPS } from '../src/search/space.ts';
import { pooledStd, stat, versusRandom, type Leaderboard } from '../src/sweep/leaderboard.ts';
import { versusRandomVerdict } from '../src/sweep/report.ts';
import { planJobs, type SweepJob, type SweepSpec } from '../src/sweep/plan.ts';
import { sweepSpec } from '../src/cli/sweep.ts';
import { sweep } from '../src/sweep/sweep.ts';
import { buildCli, run } from './helpers/cli.ts';

const temp: string[] = [];
after(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sgas-${name}-`));
  temp.push(dir);
  return dir;
};
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('random cells: two distinct inputs per node, no none, the same for the same seed', () => {
  const g = randomGenotype(1);
  assert.equal(genotypeToPython(randomGenotype(1)), genotypeToPython(g));
  assert.notEqual(genotypeToPython(randomGenotype(2)), genotypeToPython(g));
  for (const gene of [g.normal, g.reduce]) {
    assert.equal(gene.length, 2 * STEPS);
    for (let node = 0; node < STEPS; node++) {
      const [a, b] = [gene[2 * node]!, gene[2 * node + 1]!];
      assert.ok(a[1] < b[1] && b[1] < node + 2, `node ${node} reads two distinct earlier states: ${a[1]}, ${b[1]}`);
      assert.ok(a[0] !== 'none' && b[0] !== 'none');
    }
  }
  const spec: SweepSpec = { seeds: [3, 4], criteria: [2], preset: 'tiny', trainPreset: null, random: 0, baselines: [] };
  assert.deepEqual(planJobs(spec).map((j) => j.name), ['search-cri2-seed3', 'search-cri2-seed4']);
  assert.throws(() => planJobs({ ...spec, random: 2 }), /--random and --baselines are trained for comparison/);
  assert.throws(() => planJobs({ ...spec, trainPreset: 'tiny', baselines: ['NoSuchNet'] }), /--baselines NoSuchNet: not a published genotype/);
});

test('searches beat random cells when their mean test accuracy exceeds the random mean by more than the random std', () => {
  const spec: SweepSpec = { seeds: [1, 2], criteria: [1, 2], preset: 'cpu', trainPreset: 'cpu', random: 3, baselines: [] };
  const runs = (group: string, accuracies: number[]) => accuracies.map((testAccuracy, i) => ({ name: `${group}-${i}`, group, testAccuracy }));
  const random = runs('random', [0.8, 0.82, 0.84]);
  // Random: mean 0.82, std 0.02. Criterion 1 by 0.04, criterion 2 by 0.01, both pooled by 0.03.
  const verdicts = versusRandom(spec, [...runs('criterion 1', [0.85, 0.87]), ...runs('criterion 2', [0.83]), ...random]);
  assert.deepEqual(verdicts.map((v) => [v.group, v.beats]), [['criterion 1', true], ['criterion 2', false], ['all searches', true]]);
  for (const [v, margin] of [[verdicts[0]!, 0.04], [verdicts[1]!, 0.01], [verdicts[2]!, 0.03]] as const) {
    assert.ok(Math.abs(v.margin - margin) < 1e-12 && Math.abs(v.randomStd - 0.02) < 1e-12, v.group);
  }
  assert.equal(versusRandomVerdict(verdicts[1]!), 'criterion 2: does not beat random cells (+1.00 points, not more than their std 2.00)');
  assert.deepEqual(versusRandom(spec, [...runs('criterion 1', [0.9]), ...random.slice(0, 1)]), [], 'one random cell has no spread to beat');
});

test('a sweep of 4 tiny searches, their trainings, a random cell and a baseline: stopped, continued, ranked', async () => {
  const out = tempDir('sweep');
  const spec: SweepSpec = { seeds: [1, 2], criteria: [1, 2], preset: 'tiny', trainPreset: 'tiny', random: 1, baselines: ['Cri2_CIFAR_Best'] };
  const lines: string[] = [];
  const controller = new AbortController();
  // Stopped while the second search runs, once it has saved an epoch.
  const log = (line: string) => {
    lines.push(line);
    if (/search-cri1-seed2: epoch 2\/9/.test(line)) controller.abort();
  };
  await assert.rejects(sweep({ ...spec, out, backend: 'wasm' }, { log, signal: controller.signal }), { name: 'AbortError' });
  assert.ok(existsSync(join(out, 'search-cri1-seed1', 'genotype.json')));
  assert.ok(existsSync(join(out, 'search-cri1-seed2', 'checkpoint.bin')) && !existsSync(join(out, 'search-cri1-seed2', 'genotype.json')));
  assert.ok(!existsSync(join(out, 'search-cri1-seed2', 'run.lock')), 'the stopped job let its folder go');

  // A damaged run.json in a job's folder: it fails its three tries and the leaderboard says why.
  mkdirSync(join(out, 'train-random-1'));
  writeFileSync(join(out, 'train-random-1', 'run.json'), '{"config": ');
  await assert.rejects(sweep({ ...spec, out, seeds: [1] }, {}), /holds another sweep/);
  lines.length = 0;
  const board = await sweep({ ...spec, out, backend: 'wasm' }, { log: (line) => lines.push(line) });
  assert.ok(lines.some((l) => /jobs already done/.test(l)) && lines.some((l) => /search-cri1-seed2: continuing/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => /search-cri1-seed1: (starting|continuing)/.test(l)), 'a finished job is kept');
  assert.equal(lines.filter((l) => /train-random-1: try \d of 3 failed/.test(l)).length, 2);
  assert.equal(readJson(join(out, 'train-random-1', 'failed.json')).attempts, 3);

  // Every number of the leaderboard is the one in the jobs' own files.
  assert.deepEqual(readJson(join(out, 'leaderboard.json')), JSON.parse(JSON.stringify(board)));
  const groups = Object.fromEntries(board.groups.map((g) => [g.group, g]));
  assert.deepEqual(Object.keys(groups), ['criterion 1', 'criterion 2', 'random', 'Cri2_CIFAR_Best']);
  for (const c of [1, 2]) {
    const searches = [1, 2].map((s) => readJson(join(out, `search-cri${c}-seed${s}`, 'genotype.json')));
    const trainings = [1, 2].map((s) => readJson(join(out, `train-cri${c}-seed${s}`, 'result.json')));
    const g = groups[`criterion ${c}`]!;
    assert.deepEqual(g.validAccuracy, stat(searches.map((r) => r.validAccuracy)));
    assert.deepEqual(g.testAccuracy, stat(trainings.map((r) => r.testAccuracy)));
    assert.deepEqual(g.parameters, stat(trainings.map((r) => r.parameters.network)));
    assert.deepEqual(g.trainSeconds, stat(trainings.map((r) => r.seconds)));
    assert.equal(g.testAccuracy!.n, 2);
    const best = trainings.indexOf(trainings.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a)));
    assert.equal(board.best[`criterion ${c}`]!.name, `search-cri${c}-seed${best + 1}`);
    assert.equal(board.best[`criterion ${c}`]!.genotype, trainings[best].python);
  }
  assert.deepEqual([groups.random!.runs, groups.random!.failed, groups.random!.testAccuracy], [1, 1, null]);
  assert.equal(groups.Cri2_CIFAR_Best!.testAccuracy!.mean, readJson(join(out, 'train-Cri2_CIFAR_Best', 'result.json')).testAccuracy);
  checkRanks(board);
  const failed = board.runs.find((r) => r.name === 'train-random-1')!;
  assert.match(failed.failed!.error, /JSON/);

  const markdown = readFileSync(join(out, 'leaderboard.md'), 'utf8');
  assert.match(markdown, /\| criterion 1 \| 2 \| [\d.]+ ± [\d.]+ % \| [\d.]+ ± [\d.]+ % \|/);
  assert.match(markdown, /\| random \| 0 \(\+1 failed\) \|/);
  assert.match(markdown, /## Not finished[\s\S]*\| train-random-1 \| .*JSON/);
  const scatter = readFileSync(join(out, 'accuracy_vs_parameters.svg'), 'utf8');
  assert.match(scatter, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(scatter.match(/<circle [^>]*><title>/g)?.length, 5, 'a dot per trained run');
  assert.match(readFileSync(join(out, 'accuracy_by_group.svg'), 'utf8'), /criterion 2 \(2\)/);

  // The stopped and continued search found what sgas search finds with the same seed and criterion.
  const plain = await search({ preset: 'tiny', seed: 2, criterion: 1, out: join(tempDir('plain'), 'run'), backend: 'wasm' });
  const swept = readJson(join(out, 'search-cri1-seed2', 'genotype.json'));
  assert.deepEqual([swept.python, swept.alphas], [plain.report.python, plain.report.alphas]);
  assert.deepEqual(plain.report.trainParameters, readJson(join(plain.out, 'run.json')).trainParameters, "search() resolves with the cell's weights run.json gives");
  assert.equal(plain.report.trainParameters.preset, 'cpu');
});

function checkRanks(board: Leaderboard): void {
  const ranked = board.runs.filter((r) => r.testAccuracy !== undefined);
  assert.equal(ranked.length, 5);
  for (const r of ranked) assert.equal(r.rank, 1 + ranked.filter((o) => o.testAccuracy! > r.testAccuracy!).length, r.name);
  assert.deepEqual(board.runs.map((r) => r.rank ?? Infinity), [...board.runs.map((r) => r.rank ?? Infinity)].sort((a, b) => a - b));
}

test('sgas sweep --jobs 2: worker processes find the genotypes of the searches in this process', async () => {
  buildCli();
  const out = tempDir('sweep-jobs');
  const { code, stderr, stdout } = await run(['sweep', '--seeds', '1', '--criteria', '1,2', '--preset', 'tiny', '--train-preset', 'none', '--jobs', '2', '--backend', 'wasm', '--out', out]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /criterion 1 +[\d.]+ ± 0\.00 %/);
  // The workers share the cores rather than each waiting on threads of its own for every one.
  const perWorker = Math.max(1, Math.floor(availableParallelism() / 2));
  for (const c of [1, 2]) {
    // At the workers' thread count: the relaxed-SIMD build's last bits depend on it.
    const plain = await search({ preset: 'tiny', seed: 1, criterion: c as 1 | 2, out: join(tempDir('plain'), 'run'), backend: 'wasm', threads: perWorker });
    const swept = readJson(join(out, `search-cri${c}-seed1`, 'genotype.json'));
    assert.deepEqual([swept.python, swept.alphas], [plain.report.python, plain.report.alphas]);
  }
  assert.equal(readJson(join(out, 'leaderboard.json')).rankedBy, 'validAccuracy');
  assert.equal(stderr.match(new RegExp(`^wasm: ${perWorker} threads?,`, 'gm'))?.length, 2, stderr);
});

test('--train-seeds: every cell trained once per seed, the preset seed under the plain name; the flag; the pooled noise', () => {
  const spec: SweepSpec = { seeds: [1], criteria: [1], preset: 'tiny', trainPreset: 'tiny', random: 1, baselines: [], trainSeeds: [0, 2] };
  const jobs = planJobs(spec);
  assert.deepEqual(jobs.map((j) => j.name), ['search-cri1-seed1', 'train-cri1-seed1', 'train-cri1-seed1-tseed2', 'train-random-1', 'train-random-1-tseed2']);
  const [, first, again, random, randomAgain] = jobs as Extract<SweepJob, { kind: 'train' }>[];
  assert.deepEqual(first, planJobs({ ...spec, trainSeeds: undefined })[1], "the preset's seed is the single training's job");
  assert.deepEqual([again!.after, again!.cell, again!.options.seed], ['search-cri1-seed1', 'train-cri1-seed1', 2]);
  assert.deepEqual([randomAgain!.cell, randomAgain!.options.seed, randomAgain!.options.genotype], ['train-random-1', 2, random!.options.genotype]);
  assert.throws(() => planJobs({ ...spec, trainPreset: null, random: 0 }), /--train-seeds: nothing is trained/);

  assert.deepEqual(sweepSpec({ seeds: '1', 'train-seeds': '3' }).trainSeeds, [0, 1, 2]);
  assert.deepEqual(sweepSpec({ seeds: '1', 'train-seeds': '4,1' }).trainSeeds, [4, 1]);
  assert.equal(sweepSpec({ seeds: '1' }).trainSeeds, undefined);
  assert.throws(() => sweepSpec({ seeds: '1', 'train-seeds': '0,0' }), /--train-seeds 0,0: a seed is given twice/);
  assert.throws(() => sweepSpec({ seeds: '1', 'train-seeds': '0' }), /--train-seeds/);

  // Cells (0.80, 0.82) and (0.70, 0.71, 0.75): squared deviations 0.0002 and 0.0014 over 1 + 2 degrees of freedom.
  assert.ok(Math.abs(pooledStd([[0.8, 0.82], [0.7, 0.71, 0.75], [0.9]])! - Math.sqrt(0.0016 / 3)) < 1e-12);
  assert.equal(pooledStd([[0.8], []]), null);
});
