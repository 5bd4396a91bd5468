// `sgas search`: runs SGAS on a dataset folder (default: the embedded Fashion-MNIST) and writes
// genotype.json, log.jsonl, plots and an atomic checkpoint after every epoch to --out.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import { DEFAULT_PRESET, presetConfig, PRESETS, searchEpochs, validateConfig, type SearchConfig } from '../search/config.ts';
import { searchReport } from '../search/report.ts';
import { prepareSearchData, Search, type EpochRecord, type SearchResult, type StepInfo } from '../search/search.ts';
import { numberFlag, parseFlags, recomputeFlag, RUN_DEVICE_HELP, UsageError } from './args.ts';
import { writeFileAtomic } from './files.ts';
import { runLoop } from './runLoop.ts';
import { writeSearchPlots } from './searchPlots.ts';

type NumericKey = { [K in keyof SearchConfig]: SearchConfig[K] extends number ? K : never }[keyof SearchConfig];

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every numeric hyperparameter is a flag named after its config key (initChannels → --init-channels). */
const NUMERIC_KEYS = (Object.keys(PRESETS[DEFAULT_PRESET]!.config) as (keyof SearchConfig)[]).filter(
  (k) => typeof PRESETS[DEFAULT_PRESET]!.config[k] === 'number' && k !== 'criterion',
) as NumericKey[];

const INTEGER_KEYS = new Set<string>([
  'initChannels', 'layers', 'stemMultiplier', 'maxImages', 'imageSize', 'cropPadding', 'batchSize', 'batchIncrease',
  'warmupDecEpoch', 'decisionFreq', 'historySize', 'postTrain', 'maxValidImages', 'seed',
]);

export const SEARCH_HELP = `usage: sgas search [--preset ${Object.keys(PRESETS).join('|')}] [--data DIR] [--out DIR] [--seed S] [--criterion 1|2] [flags]
       sgas search --resume DIR
       sgas search --browser [flags]   the same search in headless Chromium's WebGPU (also with --resume)

presets:
${Object.entries(PRESETS).map(([name, p]) => `  ${name.padEnd(13)} ${p.description}`).join('\n')}

hyperparameter flags (override the preset):
  ${NUMERIC_KEYS.map((k) => `--${kebab(k)} N`).join('  ')}
  --arch-beta1 B  --arch-beta2 B  --unrolled  --flip / --no-flip
  --stop-after N   run at most N epochs now; the checkpoint is kept and --resume continues
  --recompute auto|cells|off   compute each cell's insides again in the backward instead of keeping
                 them: a third more work for a fraction of the memory (auto: where a step would not
                 fit, as the paper's batch 64 does not in the WebAssembly heap's 4 GiB)
${RUN_DEVICE_HELP}`;

export async function searchCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const numericFlags = Object.fromEntries(NUMERIC_KEYS.map((k) => [kebab(k), { type: 'string' as const }]));
  const { values } = parseFlags('search', argv, {
    ...numericFlags,
    preset: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
    criterion: { type: 'string' }, recompute: { type: 'string' }, 'arch-beta1': { type: 'string' }, 'arch-beta2': { type: 'string' },
    unrolled: { type: 'boolean' }, flip: { type: 'boolean' }, 'no-flip': { type: 'boolean' },
    browser: { type: 'boolean' }, profile: { type: 'boolean' }, 'stop-after': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SEARCH_HELP);
    return 0;
  }
  const flags = values as Record<string, string | boolean | undefined>;
  const options = runOptions(flags);
  if (flags.resume) return resume(String(flags.resume), flags, backend, options);

  const presetName = String(flags.preset ?? DEFAULT_PRESET);
  if (!PRESETS[presetName]) throw new UsageError(`--preset ${presetName}: unknown preset (presets: ${Object.keys(PRESETS).join(', ')})`);
  const config = presetConfig(presetName);
  for (const key of NUMERIC_KEYS) {
    const v = flags[kebab(key)];
    if (v !== undefined) (config[key] as number) = numberFlag(kebab(key), String(v), config[key], { integer: INTEGER_KEYS.has(key) });
  }
  if (flags.criterion !== undefined) {
    if (flags.criterion !== '1' && flags.criterion !== '2') throw new UsageError(`--criterion ${flags.criterion}: expected 1 or 2`);
    config.criterion = Number(flags.criterion) as 1 | 2;
  }
  config.archBetas = [
    numberFlag('arch-beta1', flags['arch-beta1'] as string | undefined, config.archBetas[0], { min: 0, max: 0.999999 }),
    numberFlag('arch-beta2', flags['arch-beta2'] as string | undefined, config.archBetas[1], { min: 0, max: 0.999999 }),
  ];
  if (flags.unrolled) config.unrolled = true;
  if (flags.recompute !== undefined) config.recompute = recomputeFlag(String(flags.recompute));
  if (flags.flip) config.flip = true;
  if (flags['no-flip']) config.flip = false;
  try {
    validateConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = String(flags.out ?? join('runs', `search-${presetName}-seed${config.seed}`));
  if (existsSync(join(out, 'checkpoint.bin'))) {
    throw new UsageError(`${out} already holds a search checkpoint: resume it with --resume ${out}, or choose another --out`);
  }
  if (flags.browser) return (await import('./browserSearch.ts')).browserSearch({ out, preset: presetName, config, data: flags.data as string | undefined });
  const train = loadDataset(flags.data as string | undefined, 'train');
  const data = prepareSearchData(train, config);
  const search = new Search(await backend(), config, data);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, 'run.json'), JSON.stringify({ data: flags.data ?? 'embedded fashion-mnist', preset: presetName, config }, null, 2));
  return drive(search, out, `${presetName} preset, ${searchEpochs(config)} epochs, seed ${config.seed}, criterion ${config.criterion}`, options);
}

async function resume(dir: string, flags: Record<string, unknown>, backend: () => Promise<Backend>, options: RunOptions): Promise<number> {
  const path = join(dir, 'checkpoint.bin');
  if (!existsSync(path)) throw new UsageError(`--resume ${dir}: no checkpoint.bin there (a search writes one after each epoch)`);
  const run = existsSync(join(dir, 'run.json')) ? JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) : {};
  const dataDir = (flags.data as string | undefined) ?? (run.data === 'embedded fashion-mnist' ? undefined : run.data);
  if (flags.browser) return (await import('./browserSearch.ts')).browserSearch({ out: dir, preset: run.preset ?? DEFAULT_PRESET, resume: new Uint8Array(readFileSync(path)), data: dataDir });
  const bytes = new Uint8Array(readFileSync(path));
  const search = Search.fromCheckpoint(await backend(), bytes, loadDataset(dataDir, 'train'), path);
  if (search.finished) {
    process.stderr.write(`${dir}: the search already finished; writing its results again\n`);
  }
  return drive(search, dir, `resuming at epoch ${search.epoch + 1} of ${search.epochs}`, options, bytes);
}

/** Runs the search to its end, writing its output as it goes; a lost GPU device is replaced and the last epoch's checkpoint resumed. */
interface RunOptions {
  profile: boolean;
  /** Epochs this invocation runs at most (--stop-after); the checkpoint is kept for --resume. */
  stopAfter: number;
}

function runOptions(flags: Record<string, unknown>): RunOptions {
  return { profile: flags.profile === true, stopAfter: numberFlag('stop-after', flags['stop-after'] as string | undefined, Infinity, { min: 1, integer: true }) };
}

async function drive(first: Search, out: string, what: string, { profile, stopAfter }: RunOptions, resumedFrom: Uint8Array | null = null): Promise<number> {
  let epochsRun = 0;
  const { runner, result } = await runLoop<StepInfo, EpochRecord, SearchResult | null, Search>(first, {
    title: `sgas search: ${what}`, out, profile, resumedFrom,
    stepsPerEpoch: Math.floor(first.data.train.length / first.config.batchSize),
    metrics: (s) => ({ loss: s.loss, acc: s.accuracy, lr: s.lr, batch: s.batchSize }),
    epochLine,
    afterEpoch: (_r, search) => {
      writeSearchPlots(out, search.records);
      if (++epochsRun >= stopAfter) search.requestStop();
    },
  });
  if (!result) {
    if (epochsRun < stopAfter) return 1;
    process.stderr.write(`stopped after ${epochsRun} epoch${epochsRun === 1 ? '' : 's'} as asked (--stop-after); continue with sgas search --resume ${out}\n`);
    return 0;
  }
  writeResult(out, runner, result);
  return 0;
}

export function epochLine(r: EpochRecord): string {
  const decided = (['normal', 'reduce'] as const)
    .map((t) => (r.cells[t].decided ? `${t} edge ${r.cells[t].decided!.edge} → ${r.cells[t].decided!.op}` : ''))
    .filter(Boolean);
  return `epoch ${r.epoch + 1}/${r.epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(1)}%  ` +
    `valid loss ${r.validLoss.toFixed(4)} acc ${(100 * r.validAccuracy).toFixed(1)}%  lr ${r.lr.toFixed(5)}  ${r.seconds.toFixed(1)}s` +
    (decided.length ? `  decided: ${decided.join(', ')}` : '');
}

function writeResult(out: string, search: Search, result: SearchResult): void {
  const report = searchReport(search, result);
  writeFileAtomic(join(out, 'genotype.json'), JSON.stringify(report, null, 2) + '\n');
  writeSearchPlots(out, search.records, result.genotype);
  process.stdout.write(`${report.python}\n`);
  process.stderr.write(`genotype written to ${join(out, 'genotype.json')}\n`);
}
