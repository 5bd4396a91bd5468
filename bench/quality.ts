// `npm run quality`: is the default search worth running? A sweep (src/sweep) of SGAS searches,
// both criteria over several seeds, and random cells of the same space, every cell trained with the
// same training preset; then the leaderboard's groups (mean ± std), whether the searches beat the
// random cells by more than the random group's std, what it cost, and the command that reproduces
// it, as OUT/quality.md. --readme FILE puts that text into the file's "How good is the default
// search" section (between its quality markers) and the accuracy-against-parameters figure beside it (bench/figures/).
//
//   npm run quality                                         the study: 5 seeds × 2 criteria, 10 random cells
//   npm run quality -- --seeds 2 --random 3 --train-flags "--epochs 2"   a smaller one
//   npm run quality -- --preset tiny --train-preset tiny --seeds 1 --random 2   a smoke check in seconds
//
// Run again with the same flags and --out, it continues where it stopped (a sweep keeps its jobs).
// --reuse DIR takes another study's finished jobs that are the same (sgas sweep --reuse): a new
// search setting is compared with the random cells already trained.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { backendFlag, numberFlag, parseFlags, POSITIVE_INTEGER, UsageError } from '../src/cli/args.ts';
import { writeFileAtomic } from '../src/cli/files.ts';
import { DEFAULT_TRAIN_PRESET, trainPresetConfig } from '../src/eval/config.ts';
import { DEFAULT_PRESET } from '../src/search/config.ts';
import { sweepSpec } from '../src/cli/sweep.ts';
import type { Leaderboard } from '../src/sweep/leaderboard.ts';
import type { SweepSpec } from '../src/sweep/plan.ts';
import { groupTable, trainingSeedsText, versusRandomLines } from '../src/sweep/report.ts';
import { sweep } from '../src/sweep/sweep.ts';

export const README_BEGIN = '<!-- quality:begin (npm run quality -- --readme README.md writes this part) -->';
export const README_END = '<!-- quality:end -->';
const FIGURE = 'accuracy_vs_parameters.svg';
/** Where --readme puts the figure, beside the README (bench/results/ holds npm run bench's output, not tracked). */
const README_FIGURE = join('bench', 'figures', `quality_${FIGURE}`);

/** The study the README's verdict needs: the default presets, 5 seeds of both criteria, 10 random cells. */
const STUDY = { seeds: 5, random: 10 };
const DEFAULTS = { seeds: String(STUDY.seeds), criteria: '1,2', random: String(STUDY.random), preset: DEFAULT_PRESET, 'train-preset': DEFAULT_TRAIN_PRESET };

/** How a run's training differs from its preset's, every cell alike (null: it does not). */
function trainingChange(spec: SweepSpec): string | null {
  const overrides = spec.trainOverrides;
  if (!overrides) return null;
  if (Object.keys(overrides).length === 1 && overrides.epochs !== undefined && spec.trainPreset) {
    const presetEpochs = trainPresetConfig(spec.trainPreset).epochs;
    return `${overrides.epochs} training epoch${overrides.epochs > 1 ? 's' : ''} instead of the ${spec.trainPreset} preset's ${presetEpochs}`;
  }
  return 'training settings changed';
}

/** How a run falls short of that study, its training apart (empty: it is the study). */
function shortfalls(spec: SweepSpec): string[] {
  const short = [
    spec.preset !== DEFAULT_PRESET && `search preset ${spec.preset}`,
    spec.trainPreset !== DEFAULT_TRAIN_PRESET && `training preset ${spec.trainPreset}`,
    spec.seeds.length < STUDY.seeds && `${spec.seeds.length} seed${spec.seeds.length > 1 ? 's' : ''} instead of ${STUDY.seeds}`,
    spec.criteria.length < 2 && `criterion ${spec.criteria[0]} only`,
    spec.random < STUDY.random && `${spec.random} random cells instead of ${STUDY.random}`,
    spec.searchOverrides && 'search settings changed',
  ];
  return short.filter((s): s is string => Boolean(s));
}

/** The study's first line where the run is not the study: a smaller one, or the study at a shorter training. */
function caveat(spec: SweepSpec): string[] {
  const [short, training] = [shortfalls(spec), trainingChange(spec)];
  if (short.length) return [`**A reduced run** (${[...short, ...(training ? [training] : [])].join(', ')}): what it shows is not the evidence the default presets are chosen by.`, ''];
  if (training) return [`**The study at a shorter training** (${training}, every cell alike): the verdict holds at that training budget; the preset's own was not run.`, ''];
  return [];
}

function options(argv: string[]) {
  const { choice: backend, threads, argv: rest } = backendFlag(argv);
  const { values } = parseFlags('quality', rest, {
    seeds: { type: 'string' }, criteria: { type: 'string' }, random: { type: 'string' }, preset: { type: 'string' },
    'train-preset': { type: 'string' }, 'search-flags': { type: 'string' }, 'train-flags': { type: 'string' }, 'train-seeds': { type: 'string' },
    out: { type: 'string' }, jobs: { type: 'string' }, readme: { type: 'string' }, reuse: { type: 'string' },
  });
  const spec = sweepSpec({ ...DEFAULTS, ...values });
  if (spec.trainPreset === null) throw new UsageError('--train-preset none: the study trains every cell; name a training preset');
  if (spec.random < 2) throw new UsageError(`--random ${spec.random}: the random group needs at least 2 cells to have a spread to beat`);
  const jobs = numberFlag('jobs', values.jobs, 1, POSITIVE_INTEGER);
  return { spec, backend, threads, jobs, out: values.out ?? join('runs', `quality-${spec.preset}`), readme: values.readme, reuse: values.reuse };
}

/** The command as typed, less --reuse: the jobs it copies are the same as those it would run, and its folder is not the reader's. */
export function reproducingCommand(argv: string[]): string {
  const shown = argv.filter((a, i) => !a.startsWith('--reuse') && argv[i - 1] !== '--reuse');
  return ['npm run quality', ...(shown.length ? ['--', ...shown.map((a) => (/^[\w./,=-]+$/.test(a) ? a : `'${a}'`))] : [])].join(' ');
}

const duration = (seconds: number) => {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
};

/** The study as Markdown: what ran, on what, for how long, the groups, and the verdict. */
export function qualityMarkdown(board: Leaderboard, spec: SweepSpec, run: { command: string; backend: string; wallSeconds: number; figure: string }): string {
  const sum = (key: 'searchSeconds' | 'trainSeconds') => board.runs.reduce((s, r) => s + (r[key] ?? 0), 0);
  const [searching, training] = [sum('searchSeconds'), sum('trainSeconds')];
  const cpu = cpus();
  const seeds = `seed${spec.seeds.length > 1 ? 's' : ''} ${spec.seeds.join(', ')}`;
  const overrides = [spec.searchOverrides && `search flags ${JSON.stringify(spec.searchOverrides)}`, spec.trainOverrides && `training flags ${JSON.stringify(spec.trainOverrides)}`]
    .filter(Boolean).join(', ');
  const criteria = spec.criteria.length > 1 ? `criteria ${spec.criteria.join(' and ')}` : `criterion ${spec.criteria[0]}`;
  return [
    ...caveat(spec),
    `\`${run.command}\`: search preset \`${spec.preset}\` (${seeds}, ${criteria}) and ${spec.random} random cells ` +
      `(two inputs per node, ops uniform over the seven that are not none), every cell trained with the \`${spec.trainPreset}\` training preset` +
      `${overrides ? ` (${overrides})` : ''}${trainingSeedsText(spec)}; test accuracy on the whole test split.`,
    '',
    `Ran ${new Date().toISOString().slice(0, 10)} on ${cpu.length} CPU cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), backend ${run.backend}: ` +
      `${duration(searching + training)} of searching and training (searches ${duration(searching)}, trainings ${duration(training)}); ` +
      `this invocation took ${duration(run.wallSeconds)} (less where it continued an earlier one or reused another's jobs).`,
    '',
    groupTable(board),
    '',
    ...(board.versusRandom.length ? versusRandomLines(board) : ['Fewer than two random cells finished: no verdict.']),
    '',
    `![test accuracy against parameters](${run.figure})`,
    '',
  ].join('\n');
}

/** Replaces the text between the quality markers of `readme`; the section must be there, so nothing lands elsewhere. */
export function replaceReadmeSection(readme: string, text: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new UsageError(`--readme: no section between "${README_BEGIN}" and "${README_END}" in it`);
  return readme.slice(0, begin + README_BEGIN.length) + '\n' + text + readme.slice(end);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--readme ${path}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { spec, backend, threads, jobs, out, readme, reuse } = options(argv);
  // Checked first, so that a README without the section fails before hours of work.
  if (readme) replaceReadmeSection(readText(readme), '');
  const started = performance.now();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const board = await sweep({ ...spec, out, jobs, backend, threads, reuse }, { log: (line) => process.stderr.write(line + '\n'), signal: controller.signal });
  const command = reproducingCommand(argv);
  const run = { command, backend, wallSeconds: (performance.now() - started) / 1000 };
  writeFileAtomic(join(out, 'quality.md'), `# How good is the default search\n\n${qualityMarkdown(board, spec, { ...run, figure: FIGURE })}`);
  if (readme) {
    const figure = join(dirname(readme), README_FIGURE);
    mkdirSync(dirname(figure), { recursive: true });
    copyFileSync(join(out, FIGURE), figure);
    const text = qualityMarkdown(board, spec, { ...run, figure: relative(dirname(readme), figure) });
    writeFileAtomic(readme, replaceReadmeSection(readText(readme), text));
  }
  process.stdout.write(`${groupTable(board)}\n\n${versusRandomLines(board).join('\n')}\n\nwritten to ${join(out, 'quality.md')}${readme ? ` and ${readme}` : ''}\n`);
}

// Run as a script; imported (by its test), it only lends its markers and functions.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    process.stderr.write(`quality: ${e.name === 'AbortError' || e instanceof UsageError ? e.message : e.stack ?? e.message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : e.name === 'AbortError' ? 130 : 1;
  });
}
