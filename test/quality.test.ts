// npm run quality at the smallest scale: the sweep it runs, the study's text from the leaderboard's
// numbers, the README section it rewrites (and nothing else of the README), and its refusals.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { README_BEGIN, README_END } from '../bench/quality.ts';
import type { Leaderboard } from '../src/sweep/leaderboard.ts';
import { finished, root } from './helpers/cli.ts';
import { spawn } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'sgas-quality-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quality = (args: string[]) =>
  finished(spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-hook.mjs', 'bench/quality.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));

test('npm run quality: searches of both criteria and random cells trained alike, their groups and verdicts in quality.md and the README', async () => {
  const out = join(dir, 'study');
  const readme = join(dir, 'README.md');
  const [before, afterText] = ['# Project\n\n## How good is the default search\n\n', '\n\n## Next section\n'];
  writeFileSync(readme, `${before}${README_BEGIN}\nold numbers\n${README_END}${afterText}`);
  const args = ['--preset', 'tiny', '--train-preset', 'tiny', '--train-flags', '--epochs 1', '--seeds', '1', '--random', '2', '--backend', 'wasm', '--out', out, '--readme', readme];
  const { code, stdout, stderr } = await quality(args);
  assert.equal(code, 0, stderr);

  const board = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8')) as Leaderboard;
  assert.deepEqual(board.groups.map((g) => [g.group, g.runs - g.failed]), [['criterion 1', 1], ['criterion 2', 1], ['random', 2]]);
  const random = board.groups.find((g) => g.group === 'random')!.testAccuracy!;
  const study = readFileSync(join(out, 'quality.md'), 'utf8');
  const command = args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ');
  assert.ok(study.includes(`\`npm run quality -- ${command}\``), 'the command that reproduces it');
  assert.ok(study.includes('(training flags {"epochs":1})'), study);
  assert.ok(study.startsWith('# How good is the default search\n\n**A reduced run** (search preset tiny, training preset tiny, 1 seed instead of 5, ' +
    "2 random cells instead of 10, 1 training epoch instead of the tiny preset's 2)"), study);
  const epochs = readFileSync(join(out, 'train-random-1', 'log.jsonl'), 'utf8').trim().split('\n').length;
  assert.equal(epochs, 1, 'every training took the --train-flags');
  assert.match(study, /backend wasm: \d+ s of searching and training/);
  assert.ok(study.includes(`| random | 2 | — | ${(100 * random.mean).toFixed(2)} ± ${(100 * random.std).toFixed(2)} % |`), study);
  assert.equal(board.versusRandom.length, 3);
  for (const v of board.versusRandom) {
    assert.equal(v.beats, v.margin > random.std, v.group);
    assert.match(study, new RegExp(`^- ${v.group}: ${v.beats ? 'beats' : 'does not beat'} random cells`, 'm'));
  }
  assert.match(stdout, /all searches: (beats|does not beat) random cells/);

  const updated = readFileSync(readme, 'utf8');
  assert.ok(updated.startsWith(`${before}${README_BEGIN}\n`) && updated.endsWith(`${README_END}${afterText}`), 'only the section changes');
  assert.ok(!updated.includes('old numbers') && updated.includes('| criterion 2 | 1 |'));
  assert.ok(updated.includes('![test accuracy against parameters](bench/figures/quality_accuracy_vs_parameters.svg)'));
  assert.equal(readFileSync(join(dir, 'bench/figures/quality_accuracy_vs_parameters.svg'), 'utf8'), readFileSync(join(out, 'accuracy_vs_parameters.svg'), 'utf8'));
});

test('npm run quality refuses what cannot give a verdict, before any work', async () => {
  const out = join(dir, 'refused');
  const one = await quality(['--preset', 'tiny', '--train-preset', 'tiny', '--seeds', '1', '--random', '1', '--out', out]);
  assert.deepEqual([one.code, one.stderr], [2, 'quality: --random 1: the random group needs at least 2 cells to have a spread to beat\n']);
  const untrained = await quality(['--train-preset', 'none', '--out', out]);
  assert.equal(untrained.code, 2);
  assert.match(untrained.stderr, /--train-preset none: the study trains every cell/);
  const jobs = await quality(['--jobs', '0', '--out', out]);
  assert.deepEqual([jobs.code, jobs.stderr], [2, 'quality: --jobs 0: expected a positive integer\n']);
  writeFileSync(join(dir, 'NO-SECTION.md'), '# nothing to replace\n');
  const noSection = await quality(['--preset', 'tiny', '--train-preset', 'tiny', '--seeds', '1', '--random', '2', '--backend', 'wasm', '--out', out, '--readme', join(dir, 'NO-SECTION.md')]);
  assert.equal(noSection.code, 2);
  assert.match(noSection.stderr, /--readme: no section between/);
  assert.equal(readFileSync(join(dir, 'NO-SECTION.md'), 'utf8'), '# nothing to replace\n');
  assert.ok(!existsSync(join(out, 'sweep.json')), 'nothing ran');
});
