// `sgas search`: runs SGAS on a dataset folder (default: the embedded Fashion-MNIST) and writes
// genotype.json, log.jsonl, plots and an atomic checkpoint after every epoch to --out. The flags
// become the options object the library's search() takes; this adds the progress bar and Ctrl-C.
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { DEFAULT_PRESET, presetConfig, PRESETS, type SearchConfig } from '../search/config.ts';
import type { EpochRecord } from '../search/search.ts';
import { inSearchFolder, searchResultLine, searchWith } from '../jobs/search.ts';
import type { SearchOptions } from '../jobs/options.ts';
import {
  byFlag, FRACTION, kebab, NON_NEGATIVE, NON_NEGATIVE_INTEGER, numberFlag, numericOptions, numericOverrides, parseFlags, POSITIVE, POSITIVE_INTEGER,
  presetFlag, recomputeFlag, RUN_DEVICE_HELP, SHARED_RANGES, sweepJobFlags, UsageError, type Range,
} from './args.ts';
import { DATA_FLAG_RANGES, DATA_FLAGS, DATA_HELP, dataFlags } from './dataFlags.ts';
import { RUN_FLAG_RANGES, RUN_FLAGS, RUN_HELP, runFlags } from './runFlags.ts';
import { runCommand } from './runHooks.ts';

type NumericKey = Exclude<{ [K in keyof SearchConfig]: SearchConfig[K] extends number ? K : never }[keyof SearchConfig], 'criterion'>;

/** Every numeric hyperparameter is a flag named after its config key (initChannels → --init-channels), with its range. */
const RANGES: Record<NumericKey, Range> = {
  ...SHARED_RANGES, stemMultiplier: POSITIVE_INTEGER, trainPortion: { above: 0, below: 1 }, batchSize: POSITIVE_INTEGER,
  batchIncrease: NON_NEGATIVE_INTEGER, archLearningRate: POSITIVE, archWeightDecay: NON_NEGATIVE, archStartEpoch: NON_NEGATIVE_INTEGER, paramFreeDrop: FRACTION, warmupDecEpoch: NON_NEGATIVE_INTEGER,
  decisionFreq: POSITIVE_INTEGER, historySize: POSITIVE_INTEGER, postTrain: NON_NEGATIVE_INTEGER, maxValidImages: NON_NEGATIVE_INTEGER,
};
const NUMERIC_KEYS = Object.keys(RANGES) as NumericKey[];

/** The range of every numeric flag of sgas search, by flag name. */
export const SEARCH_FLAG_RANGES: Record<string, Range> = {
  ...byFlag(RANGES), ...DATA_FLAG_RANGES, ...RUN_FLAG_RANGES, 'arch-beta1': FRACTION, 'arch-beta2': FRACTION,
};

export const SEARCH_HELP = `usage: sgas search [--preset ${Object.keys(PRESETS).join('|')}] [--data DIR] [--out DIR] [--seed S] [--criterion 1|2] [flags]
       sgas search --resume DIR [--data DIR] [--stop-after N] [--profile]
       sgas search --browser [flags]   the same search in headless Chromium's WebGPU (also with --resume)

presets:
${Object.entries(PRESETS).map(([name, p]) => `  ${name.padEnd(13)} ${p.description}`).join('\n')}

hyperparameter flags (override the preset):
  ${NUMERIC_KEYS.map((k) => `--${kebab(k)} N`).join('  ')}
  --arch-beta1 B  --arch-beta2 B  --unrolled  --flip / --no-flip
  --keep-pruned-edges   a node's pruned edges stay in the network as mixed edges (alphas frozen,
                 weights training) instead of leaving it
  --recompute auto|cells|off   compute each cell's insides again in the backward instead of keeping
                 them: a third more work for a fraction of the memory (auto: where a step would not
                 fit in the backend's memory; the paper's batch 64 needs 2.5 GiB of the
                 WebAssembly heap's 4 GiB)
${RUN_HELP}${RUN_DEVICE_HELP}${DATA_HELP}  The search trains and steers on the training part only; the test part is left for sgas train.
`;

const SEARCH_FLAGS = {
  ...numericOptions(SEARCH_FLAG_RANGES),
  ...DATA_FLAGS, ...RUN_FLAGS, preset: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
  criterion: { type: 'string' }, recompute: { type: 'string' },
  unrolled: { type: 'boolean' }, 'keep-pruned-edges': { type: 'boolean' }, flip: { type: 'boolean' }, 'no-flip': { type: 'boolean' },
  browser: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

/** Flags a sweep sets for each of its searches, so --search-flags may not. */
const SWEEP_SETS = ['preset', 'out', 'resume', 'seed', 'criterion', 'browser', 'help', ...Object.keys(DATA_FLAGS), ...Object.keys(RUN_FLAG_RANGES), ...Object.keys(RUN_FLAGS)];

/** The hyperparameters that `sgas search` flags (a sweep's --search-flags) set over the preset. */
export function searchOverrides(text: string): Partial<SearchConfig> {
  return searchOptions(sweepJobFlags('search', text, SEARCH_FLAGS, SWEEP_SETS)).overrides!;
}

export async function searchCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('search', argv, SEARCH_FLAGS);
  if (values.help) {
    process.stdout.write(SEARCH_HELP);
    return 0;
  }
  const flags = values as Record<string, string | boolean | undefined>;
  const options = searchOptions(flags);
  const run = runFlags(flags);
  if (flags.browser) {
    const nodeOnly = Object.keys(RUN_FLAG_RANGES).concat(Object.keys(RUN_FLAGS)).filter((f) => flags[f] !== undefined);
    if (nodeOnly.length) throw new UsageError(`--${nodeOnly.join(', --')}: for searches in Node; the page's search (--browser) takes neither`);
    return browserCommand(options);
  }
  return runCommand<EpochRecord>('sgas search', epochLine, async (hooks) => {
    const { out, report } = await searchWith(options, { ...hooks, ...run }, backend);
    return { stdout: `${report.python}\n`, stderr: `${searchResultLine(out, report)}\n` };
  });
}

/** The options object the flags ask for: the preset, the hyperparameters given, seed, criterion, data, out. */
export function searchOptions(flags: Record<string, string | boolean | undefined>): SearchOptions {
  const data = dataFlags(flags);
  if (flags.resume) return { out: String(flags.resume), resume: true, data };
  const preset = presetFlag(flags.preset, PRESETS, DEFAULT_PRESET);
  const base = presetConfig(preset);
  const overrides: Partial<SearchConfig> = numericOverrides(flags, RANGES);
  if (flags['arch-beta1'] !== undefined || flags['arch-beta2'] !== undefined) {
    overrides.archBetas = [
      numberFlag('arch-beta1', flags['arch-beta1'] as string | undefined, base.archBetas[0], FRACTION),
      numberFlag('arch-beta2', flags['arch-beta2'] as string | undefined, base.archBetas[1], FRACTION),
    ];
  }
  if (flags.unrolled) overrides.unrolled = true;
  if (flags['keep-pruned-edges']) overrides.keepPrunedEdges = true;
  if (flags.recompute !== undefined) overrides.recompute = recomputeFlag(String(flags.recompute));
  if (flags.flip) overrides.flip = true;
  if (flags['no-flip']) overrides.flip = false;
  const options: SearchOptions = { preset, overrides, data };
  if (flags.seed !== undefined) options.seed = numberFlag('seed', String(flags.seed), base.seed, RANGES.seed);
  if (flags.criterion !== undefined) {
    if (flags.criterion !== '1' && flags.criterion !== '2') throw new UsageError(`--criterion ${flags.criterion}: expected 1 or 2`);
    options.criterion = Number(flags.criterion) as 1 | 2;
  }
  if (flags.out !== undefined) options.out = String(flags.out);
  return options;
}

/** `--browser`: the same search folder, computed by the page in headless Chromium. */
async function browserCommand(options: SearchOptions): Promise<number> {
  const log = (line: string) => process.stderr.write(line + '\n');
  const { browserSearch } = await import('./browserSearch.ts');
  return inSearchFolder(options, log, (start, lock) => browserSearch(start.kind === 'new'
    ? { out: start.out, preset: start.preset, config: start.config, data: start.data.dir, lock }
    : { out: start.out, preset: start.preset, resume: start.checkpoint.bytes, data: start.data.dir, lock }));
}

export function epochLine(r: EpochRecord): string {
  const decided = (['normal', 'reduce'] as const)
    .map((t) => (r.cells[t].decided ? `${t} edge ${r.cells[t].decided!.edge} → ${r.cells[t].decided!.op}` : ''))
    .filter(Boolean);
  return `epoch ${r.epoch + 1}/${r.epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(1)}%  ` +
    `valid loss ${r.validLoss.toFixed(4)} acc ${(100 * r.validAccuracy).toFixed(1)}%  lr ${r.lr.toFixed(5)}  ${r.seconds.toFixed(1)}s` +
    (decided.length ? `  decided: ${decided.join(', ')}` : '');
}
