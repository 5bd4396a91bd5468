// `sgas search`: runs SGAS on a dataset folder (default: the embedded Fashion-MNIST) and writes
// genotype.json, log.jsonl, plots and an atomic checkpoint after every epoch to --out.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import type { DataInfo } from '../data/dataInfo.ts';
import type { LoadedData } from '../data/load.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import { DEFAULT_PRESET, presetConfig, PRESETS, searchEpochs, validateConfig, type SearchConfig } from '../search/config.ts';
import { searchReport } from '../search/report.ts';
import { prepareSearchData, Search, withDataImageSize, type EpochRecord, type SearchData, type SearchResult } from '../search/search.ts';
import { describePlan, withMemoryHint } from '../train/memory.ts';
import {
  byFlag, FRACTION, kebab, NON_NEGATIVE, NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, POSITIVE, POSITIVE_INTEGER,
  recomputeFlag, SHARED_RANGES, UsageError, type Range,
} from './args.ts';
import { CHECKPOINT, hasCheckpoint, readCheckpoint, withResumeHint, writeCheckpoint } from './checkpointFiles.ts';
import { DATA_FLAG_RANGES, DATA_FLAGS, DATA_HELP, dataFlags, dataRecord, loadRunData, type DataFlags } from './dataFlags.ts';
import { JsonLines, writeFileAtomic } from './files.ts';
import { Progress } from './progress.ts';
import { inRunFolder, type RunLock } from './runLock.ts';
import { runDataDir } from './train.ts';
import { writeSearchPlots } from './searchPlots.ts';

type NumericKey = Exclude<{ [K in keyof SearchConfig]: SearchConfig[K] extends number ? K : never }[keyof SearchConfig], 'criterion'>;

/** Every numeric hyperparameter is a flag named after its config key (initChannels → --init-channels), with its range. */
const RANGES: Record<NumericKey, Range> = {
  ...SHARED_RANGES, stemMultiplier: POSITIVE_INTEGER, trainPortion: { above: 0, below: 1 }, batchSize: POSITIVE_INTEGER,
  batchIncrease: NON_NEGATIVE_INTEGER, archLearningRate: POSITIVE, archWeightDecay: NON_NEGATIVE, warmupDecEpoch: NON_NEGATIVE_INTEGER,
  decisionFreq: POSITIVE_INTEGER, historySize: POSITIVE_INTEGER, postTrain: NON_NEGATIVE_INTEGER, maxValidImages: NON_NEGATIVE_INTEGER,
};
const NUMERIC_KEYS = Object.keys(RANGES) as NumericKey[];

/** The range of every numeric flag of sgas search, by flag name. */
export const SEARCH_FLAG_RANGES: Record<string, Range> = { ...byFlag(RANGES), ...DATA_FLAG_RANGES, 'arch-beta1': FRACTION, 'arch-beta2': FRACTION };

export const SEARCH_HELP = `usage: sgas search [--preset ${Object.keys(PRESETS).join('|')}] [--data DIR] [--out DIR] [--seed S] [--criterion 1|2] [flags]
       sgas search --resume DIR [--data DIR]
       sgas search --browser [flags]   the same search in headless Chromium's WebGPU (also with --resume)

presets:
${Object.entries(PRESETS).map(([name, p]) => `  ${name.padEnd(13)} ${p.description}`).join('\n')}

hyperparameter flags (override the preset):
  ${NUMERIC_KEYS.map((k) => `--${kebab(k)} N`).join('  ')}
  --arch-beta1 B  --arch-beta2 B  --unrolled  --flip / --no-flip
  --recompute auto|cells|off   compute each cell's insides again in the backward instead of keeping
                 them: a third more work for a fraction of the memory (auto: where a step would not
                 fit in the backend's memory; the paper's batch 64 needs 2.5 GiB of the
                 WebAssembly heap's 4 GiB)
  --backend auto|webgpu|wasm   (auto: WebGPU on a real GPU, else WebAssembly)
${DATA_HELP}  The search trains and steers on the training part only; the test part is left for sgas train.
`;

export async function searchCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('search', argv, {
    ...numericOptions(SEARCH_FLAG_RANGES),
    ...DATA_FLAGS, preset: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
    criterion: { type: 'string' }, recompute: { type: 'string' },
    unrolled: { type: 'boolean' }, flip: { type: 'boolean' }, 'no-flip': { type: 'boolean' },
    browser: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SEARCH_HELP);
    return 0;
  }
  const flags = values as Record<string, string | boolean | undefined>;
  const data = dataFlags(flags);
  if (flags.resume) return resume(String(flags.resume), data.dir, Boolean(flags.browser), backend);

  const presetName = String(flags.preset ?? DEFAULT_PRESET);
  if (!PRESETS[presetName]) throw new UsageError(`--preset ${presetName}: unknown preset (presets: ${Object.keys(PRESETS).join(', ')})`);
  const config = presetConfig(presetName);
  for (const key of NUMERIC_KEYS) {
    const v = flags[kebab(key)];
    if (v !== undefined) config[key] = numberFlag(kebab(key), String(v), config[key], RANGES[key]);
  }
  if (flags.criterion !== undefined) {
    if (flags.criterion !== '1' && flags.criterion !== '2') throw new UsageError(`--criterion ${flags.criterion}: expected 1 or 2`);
    config.criterion = Number(flags.criterion) as 1 | 2;
  }
  config.archBetas = [
    numberFlag('arch-beta1', flags['arch-beta1'] as string | undefined, config.archBetas[0], FRACTION),
    numberFlag('arch-beta2', flags['arch-beta2'] as string | undefined, config.archBetas[1], FRACTION),
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
  return start({ out, preset: presetName, config, data, browser: Boolean(flags.browser) }, backend);
}

interface NewSearch {
  out: string;
  preset: string;
  config: SearchConfig;
  data: DataFlags;
  /** The data record of the run this one starts again (a resume before the first checkpoint). */
  like?: DataInfo;
  browser: boolean;
}

const LOCK = { command: 'sgas search', log: (line: string) => process.stderr.write(line + '\n') };

/** A new search in `out`, which holds no search yet. */
async function start(run: NewSearch, backend: () => Promise<Backend>): Promise<number> {
  const data = run.browser ? null : await searchData(run);
  return inRunFolder(run.out, LOCK, async (lock) => {
    if (hasCheckpoint(run.out)) {
      throw new UsageError(`${run.out} already holds a search checkpoint: resume it with --resume ${run.out}, or choose another --out`);
    }
    return begin(run, data, lock, backend);
  });
}

/** Loads and describes the run's training images; an image folder sets the run's image size. */
async function searchData(run: NewSearch): Promise<{ loaded: LoadedData; data: SearchData }> {
  const loaded = await loadRunData(run.data, {
    parts: { train: run.config.maxImages }, like: run.like, batch: { size: run.config.batchSize, share: run.config.trainPortion },
  });
  run.config = withDataImageSize(run.config, loaded.train!);
  return { loaded, data: prepareSearchData(loaded.train!, run.config) };
}

/** Writes run.json and runs the search: in Node on `data`, or in the page (null). */
async function begin(run: NewSearch, data: { loaded: LoadedData; data: SearchData } | null, lock: RunLock, backend: () => Promise<Backend>): Promise<number> {
  if (!data) return (await import('./browserSearch.ts')).browserSearch({ out: run.out, preset: run.preset, config: run.config, data: run.data.dir, lock });
  const search = new Search(await backend(), run.config, data.data);
  writeFileAtomic(join(run.out, 'run.json'), JSON.stringify({ ...dataRecord(data.loaded, search.dataInfo), preset: run.preset, config: run.config }, null, 2));
  return drive(search, lock, run.out, `${run.preset} preset, ${searchEpochs(run.config)} epochs, seed ${run.config.seed}, criterion ${run.config.criterion}`);
}

async function resume(dir: string, dataFlag: string | undefined, browser: boolean, backend: () => Promise<Backend>): Promise<number> {
  const noCheckpoint = `--resume ${dir}: no checkpoint.bin there (a search writes one after each epoch)`;
  if (!existsSync(dir)) throw new UsageError(noCheckpoint);
  const runFile = join(dir, 'run.json');
  const run = existsSync(runFile) ? JSON.parse(readFileSync(runFile, 'utf8')) : {};
  const dataDir = dataFlag ?? runDataDir(dir);
  const preset = run.preset ?? DEFAULT_PRESET;
  return inRunFolder(dir, LOCK, async (lock) => {
    const checkpoint = readCheckpoint(join(dir, CHECKPOINT), LOCK.log);
    if (!checkpoint) {
      // Stopped before its first checkpoint: run.json holds all it takes to start it again.
      if (!run.config) throw new UsageError(noCheckpoint);
      LOCK.log(`${dir}: no checkpoint yet (the search stopped in its first epoch); starting it again from run.json`);
      const again: NewSearch = { out: dir, preset, config: run.config, data: dataFlags({ data: dataDir }), like: run.dataInfo, browser };
      return begin(again, browser ? null : await searchData(again), lock, backend);
    }
    if (browser) return (await import('./browserSearch.ts')).browserSearch({ out: dir, preset, resume: checkpoint.bytes, data: dataDir, lock });
    const { state } = decodeCheckpoint<{ config: SearchConfig; dataInfo?: DataInfo }>(checkpoint.bytes, checkpoint.path);
    const loaded = await loadRunData(dataFlags({ data: dataDir }), { parts: { train: state.config.maxImages }, like: state.dataInfo });
    const search = Search.fromCheckpoint(await backend(), checkpoint.bytes, loaded.train!, checkpoint.path);
    if (search.finished) {
      process.stderr.write(`${dir}: the search already finished; writing its results again\n`);
    }
    const at = search.stoppedAt;
    return drive(search, lock, dir, `resuming at epoch ${search.epoch + 1} of ${search.epochs}${at ? `, after its step ${at.step} of ${at.steps}` : ''}`);
  });
}

async function drive(search: Search, lock: RunLock, out: string, what: string): Promise<number> {
  const log = new JsonLines(join(out, 'log.jsonl'));
  log.retain((r) => typeof r.epoch === 'number' && r.epoch < search.epoch);
  const stepsPerEpoch = Math.floor(search.data.train.length / search.config.batchSize);
  const progress = new Progress(search.epochs * stepsPerEpoch);
  progress.log(`sgas search: ${what}; writing to ${out}`);
  const plan = describePlan(await search.memoryPlan());
  if (plan) progress.log(plan);
  let done = search.epoch * stepsPerEpoch + (search.stoppedAt?.step ?? 0);
  let saved = search.epoch;
  try {
    const result = await search.run({
      step: (s) => {
        lock.confirm();
        done++;
        progress.update(done, { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, loss: s.loss, acc: s.accuracy, lr: s.lr, batch: s.batchSize });
      },
      epoch: (r) => {
        progress.log(epochLine(r));
        log.write({ type: 'epoch', ...r });
        writeSearchPlots(out, search.records);
      },
      checkpoint: (bytes, epoch) => {
        lock.confirm();
        writeCheckpoint(out, bytes);
        saved = epoch + 1;
      },
    });
    progress.done();
    if (!result) return 1;
    writeResult(out, search, result);
    return 0;
  } catch (e) {
    throw withResumeHint(withMemoryHint(e, search.net.recomputeCells), out, saved, 'sgas search');
  }
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
