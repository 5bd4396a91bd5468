// leaderboard.md, leaderboard.json and the two figures, written to the sweep's folder.
import { join } from 'node:path';
import { writeFileAtomic } from '../cli/files.ts';
import type { Leaderboard, LeaderboardRun, Stat, VersusRandom } from './leaderboard.ts';
import { groupStripSvg, scatterSvg } from './plots.ts';

export const LEADERBOARD_FILES = ['leaderboard.md', 'leaderboard.json', 'accuracy_by_group.svg', 'accuracy_vs_parameters.svg'];

const percent = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(2)} %`);
const seconds = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(1)} s`);
const count = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));

function meanStd(s: Stat | null, format: 'percent' | 'count' | 'seconds'): string {
  if (!s) return '—';
  if (format === 'percent') return `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)} %`;
  if (format === 'seconds') return `${s.mean.toFixed(1)} ± ${s.std.toFixed(1)} s`;
  return `${count(s.mean)} ± ${count(s.std)}`;
}

const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Mean ± std of every group: accuracies, parameters and times; with several training seeds, the training noise. */
export function groupTable(board: Leaderboard): string {
  const noise = board.groups.some((g) => g.trainingNoise !== null);
  const head = ['group', 'runs', 'search valid accuracy', 'test accuracy', ...(noise ? ['training noise'] : []), 'parameters', 'search time', 'train time'];
  return table(head, board.groups.map((g) => [
    g.group, g.failed ? `${g.runs - g.failed} (+${g.failed} failed)` : String(g.runs), meanStd(g.validAccuracy, 'percent'), meanStd(g.testAccuracy, 'percent'),
    ...(noise ? [g.trainingNoise === null ? '—' : `${(100 * g.trainingNoise).toFixed(2)} %`] : []),
    meanStd(g.parameters, 'count'), meanStd(g.searchSeconds, 'seconds'), meanStd(g.trainSeconds, 'seconds'),
  ]));
}

/** How the cells were trained, for a sentence: with several seeds, that a cell's accuracy is their mean. */
export function trainingSeedsText(spec: Leaderboard['spec']): string {
  const seeds = spec.trainSeeds;
  if (!seeds || seeds.length < 2) return '';
  return `, each ${seeds.length} times (training seeds ${seeds.join(', ')}; a cell's test accuracy is the mean of its trainings, ` +
    'the training noise the pooled standard deviation between them)';
}

export function leaderboardMarkdown(board: Leaderboard): string {
  const { spec } = board;
  const seeds = spec.seeds.join(', ');
  const accuracy = board.rankedBy === 'testAccuracy' ? 'test accuracy' : 'search validation accuracy';
  const lines = [
    '# Sweep leaderboard', '',
    `Search preset \`${spec.preset}\`, seeds ${seeds}, criteria ${spec.criteria.join(' and ')}; ` +
      (spec.trainPreset ? `every cell trained with the \`${spec.trainPreset}\` training preset${trainingSeedsText(spec)}` : 'no training') +
      (spec.random ? `; ${spec.random} random cell${spec.random > 1 ? 's' : ''}` : '') + (spec.baselines.length ? `; baselines ${spec.baselines.join(', ')}` : '') +
      `; data: ${spec.data?.dir ?? 'the embedded Fashion-MNIST'}.`, '',
    `Mean ± sample standard deviation per group; runs ranked by ${accuracy}. Parameters: the training preset's network (auxiliary head apart).`, '',
    '## Groups', '',
    groupTable(board), '',
    ...versusRandomSection(board),
    '## Best genotype per criterion', '',
    ...Object.entries(board.best).map(([group, run]) => `- ${group}: ${run.name}, ${accuracy} ${percent(run[board.rankedBy])}, ${count(run.parameters)} parameters\n  \`${run.genotype}\``),
    '', '## Runs', '',
    table(['rank', 'run', 'group', 'seed', 'search valid accuracy', 'test accuracy', 'parameters', 'search time', 'train time'], board.runs.map((r: LeaderboardRun) => [
      r.rank === undefined ? '—' : String(r.rank), r.name, r.group, r.seed === undefined ? '—' : String(r.seed), percent(r.validAccuracy),
      percent(r.testAccuracy) + (r.testAccuracies ? ` (${r.testAccuracies.map((a) => (100 * a).toFixed(2)).join(', ')})` : ''), count(r.parameters),
      seconds(r.searchSeconds), seconds(r.trainSeconds),
    ])),
  ];
  const failed = board.runs.filter((r) => r.failed);
  if (failed.length) lines.push('', '## Not finished', '', table(['job', 'why'], failed.map((r) => [r.failed!.job, r.failed!.error.replace(/\|/g, '\\|')])));
  lines.push('', `![${accuracy} per group](accuracy_by_group.svg)`, '', `![${accuracy} against parameters](accuracy_vs_parameters.svg)`, '');
  return lines.join('\n');
}

/** The sentence a sweep's reader needs first: do the searches beat random cells, group by group. */
export function versusRandomVerdict(v: VersusRandom): string {
  const margin = `${v.margin >= 0 ? '+' : '−'}${(100 * Math.abs(v.margin)).toFixed(2)}`;
  return v.beats
    ? `${v.group}: beats random cells (${margin} points, more than their std ${(100 * v.randomStd).toFixed(2)})`
    : `${v.group}: does not beat random cells (${margin} points, not more than their std ${(100 * v.randomStd).toFixed(2)})`;
}

function versusRandomSection(board: Leaderboard): string[] {
  if (!board.versusRandom.length) return [];
  return ['## Against random cells', '', ...versusRandomLines(board), ''];
}

/** What the leaderboard says of the searches against random cells, as Markdown lines. */
export function versusRandomLines(board: Leaderboard): string[] {
  return [
    'A search is worth running when its cells, trained with the same preset, beat random cells of the same space ' +
      'by more than one standard deviation of the random group.', '',
    ...board.versusRandom.map((v) => `- ${versusRandomVerdict(v)}`),
  ];
}

export function writeLeaderboard(out: string, board: Leaderboard): void {
  const accuracy = board.rankedBy === 'testAccuracy' ? 'test accuracy (%)' : 'search validation accuracy (%)';
  const groups = board.groups.map((g) => g.group);
  const valuesOf = (group: string) => board.runs.filter((r) => r.group === group && r[board.rankedBy] !== undefined).map((r) => r[board.rankedBy]!);
  const points = board.runs.filter((r) => r[board.rankedBy] !== undefined && r.parameters !== undefined)
    .map((r) => ({ group: r.group, x: r.parameters!, y: r[board.rankedBy]!, label: `${r.name}: ${percent(r[board.rankedBy])}, ${count(r.parameters)} parameters` }));
  writeFileAtomic(join(out, 'accuracy_by_group.svg'), groupStripSvg(groups.map((group) => ({ group, values: valuesOf(group) })), `${accuracy.replace(' (%)', '')} per group`, accuracy));
  writeFileAtomic(join(out, 'accuracy_vs_parameters.svg'), scatterSvg(points, groups, `${accuracy.replace(' (%)', '')} against parameters`, 'parameters', accuracy));
  writeFileAtomic(join(out, 'leaderboard.json'), JSON.stringify(board, null, 2) + '\n');
  writeFileAtomic(join(out, 'leaderboard.md'), leaderboardMarkdown(board));
}
