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

/** Mean ± std of every group: accuracies, parameters and times. */
export function groupTable(board: Leaderboard): string {
  return table(['group', 'runs', 'search valid accuracy', 'test accuracy', 'parameters', 'search time', 'train time'], board.groups.map((g) => [
    g.group, g.failed ? `${g.runs - g.failed} (+${g.failed} failed)` : String(g.runs), meanStd(g.validAccuracy, 'percent'),
    meanStd(g.testAccuracy, 'percent'), meanStd(g.parameters, 'count'), meanStd(g.searchSeconds, 'seconds'), meanStd(g.trainSeconds, 'seconds'),
  ]));
}

export function leaderboardMarkdown(board: Leaderboard): string {
  const { spec } = board;
  const seeds = spec.seeds.join(', ');
  const accuracy = board.rankedBy === 'testAccuracy' ? 'test accuracy' : 'search validation accuracy';
  const lines = [
    '# Sweep leaderboard', '',
    `Search preset \`${spec.preset}\`, seeds ${seeds}, criteria ${spec.criteria.join(' and ')}; ` +
      (spec.trainPreset ? `every cell trained with the \`${spec.trainPreset}\` training preset` : 'no training') +
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
      r.rank === undefined ? '—' : String(r.rank), r.name, r.group, r.seed === undefined ? '—' : String(r.seed), percent(r.validAccuracy), percent(r.testAccuracy), count(r.parameters),
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
