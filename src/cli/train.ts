// `sgas train`: trains a genotype from scratch (default: the cpu preset on the embedded
// Fashion-MNIST) and writes log.jsonl and an atomic checkpoint after every epoch to --out.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { EMBEDDED_SOURCE } from '../data/load.ts';
import { DEFAULT_TRAIN_PRESET, storedTrainConfig, TRAIN_PRESETS, trainPresetConfig, validateTrainConfig, type TrainConfig } from '../eval/config.ts';
import { prepareTrainData, readTrainCheckpoint, Trainer, type TrainData, type TrainEpochRecord } from '../eval/train.ts';
import type { DataInfo } from '../data/dataInfo.ts';
import type { LoadedData } from '../data/load.ts';
import { genotypeToJson, genotypeToPython, parseGenotype, type Genotype } from '../search/genotype.ts';
import {
  byFlag, FRACTION, kebab, NON_NEGATIVE, NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, POSITIVE_INTEGER, recomputeFlag,
  SHARED_RANGES, UsageError, type Range,
} from './args.ts';
import { CHECKPOINT, hasCheckpoint, readCheckpoint, withResumeHint, writeCheckpoint } from './checkpointFiles.ts';
import { DATA_FLAG_RANGES, DATA_FLAGS, DATA_HELP, dataFlags, dataRecord, loadRunData, type DataFlags } from './dataFlags.ts';
import { JsonLines, writeFileAtomic } from './files.ts';
import { genotypeFlag, isGenotypeLiteral } from './genotypeFlag.ts';
import { Progress } from './progress.ts';
import { inRunFolder, type RunLock } from './runLock.ts';
import { describePlan, withMemoryHint } from '../train/memory.ts';

type Keys<V> = { [K in keyof TrainConfig]: TrainConfig[K] extends V ? K : never }[keyof TrainConfig];

const DEFAULTS = TRAIN_PRESETS[DEFAULT_TRAIN_PRESET]!.config;

/** Every hyperparameter is a flag named after its config key (initChannels → --init-channels), numbers with their range. */
const RANGES: Record<Keys<number>, Range> = {
  ...SHARED_RANGES, auxiliaryWeight: NON_NEGATIVE, dropPathProb: FRACTION, maxTestImages: NON_NEGATIVE_INTEGER,
  cutoutLength: POSITIVE_INTEGER, epochs: POSITIVE_INTEGER, batchSize: { integer: true, min: 2 },
};
const NUMERIC_KEYS = Object.keys(RANGES) as Keys<number>[];
/** Booleans also take --no-…. */
const BOOLEAN_KEYS = (Object.keys(DEFAULTS) as (keyof TrainConfig)[]).filter((k) => typeof DEFAULTS[k] === 'boolean') as Keys<boolean>[];

/** The range of every numeric flag of sgas train, by flag name. */
export const TRAIN_FLAG_RANGES = { ...byFlag(RANGES), ...DATA_FLAG_RANGES };

export const TRAIN_HELP = `usage: sgas train --genotype FILE|NAME|LITERAL [--preset ${Object.keys(TRAIN_PRESETS).join('|')}] [--data DIR] [--out DIR] [flags]
       sgas train --resume DIR [--data DIR]

--genotype: a genotype.json from sgas search, a file holding Genotype(...), a published name (e.g. Cri2_CIFAR_Best,
  DARTS_V2), or a Genotype(...) literal itself

presets:
${Object.entries(TRAIN_PRESETS).map(([name, p]) => `  ${name.padEnd(13)} ${p.description}`).join('\n')}

hyperparameter flags (override the preset):
  ${NUMERIC_KEYS.map((k) => `--${kebab(k)} N`).join('  ')}
  ${BOOLEAN_KEYS.map((k) => `--${kebab(k)} / --no-${kebab(k)}`).join('  ')}
  --recompute auto|cells|off   compute each cell's insides again in the backward instead of keeping
                 them: a third more work for a fraction of the memory (auto: where a step would not
                 fit, as the paper's C=36, 20 cells, batch 96 does not in the WebAssembly heap's 4 GiB)
  --backend auto|webgpu|wasm   (auto: WebGPU on a real GPU, else WebAssembly)
${DATA_HELP}`;

export async function trainCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const hyperparameterFlags = {
    ...numericOptions(TRAIN_FLAG_RANGES),
    ...Object.fromEntries(BOOLEAN_KEYS.flatMap((k) => [[kebab(k), { type: 'boolean' as const }], [`no-${kebab(k)}`, { type: 'boolean' as const }]])),
  };
  const { values } = parseFlags('train', argv, {
    ...hyperparameterFlags,
    ...DATA_FLAGS, genotype: { type: 'string' }, preset: { type: 'string' }, out: { type: 'string' },
    resume: { type: 'string' }, recompute: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  const flags = values as Record<string, string | boolean | undefined>;
  if (flags.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const data = dataFlags(flags);
  if (flags.resume) {
    const fixed = ['genotype', 'preset', 'out', 'recompute', 'resize', 'test-portion', 'split-seed', ...Object.keys(hyperparameterFlags)].filter((f) => flags[f] !== undefined);
    if (fixed.length) throw new UsageError(`--resume continues with the run's own settings; drop --${fixed.join(', --')}`);
    return resume(String(flags.resume), data.dir, backend);
  }

  const presetName = String(flags.preset ?? DEFAULT_TRAIN_PRESET);
  if (!TRAIN_PRESETS[presetName]) throw new UsageError(`--preset ${presetName}: unknown preset (presets: ${Object.keys(TRAIN_PRESETS).join(', ')})`);
  const genotype = genotypeFlag(flags.genotype as string | undefined, 'train');
  const config = trainPresetConfig(presetName);
  for (const key of NUMERIC_KEYS) {
    const v = flags[kebab(key)];
    if (v !== undefined) config[key] = numberFlag(kebab(key), String(v), config[key], RANGES[key]);
  }
  for (const key of BOOLEAN_KEYS) {
    if (flags[kebab(key)] && flags[`no-${kebab(key)}`]) throw new UsageError(`--${kebab(key)} and --no-${kebab(key)} contradict each other`);
    if (flags[kebab(key)]) config[key] = true;
    if (flags[`no-${kebab(key)}`]) config[key] = false;
  }
  if (flags.recompute !== undefined) config.recompute = recomputeFlag(String(flags.recompute));
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const genotypeName = isGenotypeLiteral(String(flags.genotype)) ? 'literal' : basename(String(flags.genotype)).replace(/\.\w+$/, '');
  const out = String(flags.out ?? join('runs', `train-${presetName}-${genotypeName}-seed${config.seed}`));
  const run: NewTraining = { out, preset: presetName, config, genotype, genotypeSource: String(flags.genotype), data };
  const loaded = await trainData(run);
  return inRunFolder(out, LOCK, async (lock) => {
    if (hasCheckpoint(out)) {
      throw new UsageError(`${out} already holds a training checkpoint: resume it with --resume ${out}, or choose another --out`);
    }
    return begin(run, loaded, lock, backend);
  });
}

interface NewTraining {
  out: string;
  preset: string;
  config: TrainConfig;
  genotype: Genotype;
  /** --genotype as given (a file or a name), kept in run.json. */
  genotypeSource: string;
  data: DataFlags;
  /** The data record of the run this one starts again (a resume before the first checkpoint). */
  like?: DataInfo;
}

const LOCK = { command: 'sgas train', log: (line: string) => process.stderr.write(line + '\n') };

/** Loads and describes the run's images; an image folder sets the run's image size. */
async function trainData(run: NewTraining): Promise<{ loaded: LoadedData; data: TrainData }> {
  const { config } = run;
  const loaded = await loadRunData(run.data, {
    parts: { train: config.maxImages, test: config.maxTestImages }, like: run.like, batch: { size: config.batchSize, share: 1 },
  });
  // An image folder is loaded at its run's size (--image-size or the folder's own).
  if (loaded.format === 'image-folder') config.imageSize = loaded.train!.height;
  return { loaded, data: prepareTrainData(loaded.train!, loaded.test!, config) };
}

/** Writes run.json and trains from scratch. */
async function begin(run: NewTraining, data: { loaded: LoadedData; data: TrainData }, lock: RunLock, backend: () => Promise<Backend>): Promise<number> {
  const trainer = new Trainer(await backend(), run.config, run.genotype, data.data);
  writeFileAtomic(join(run.out, 'run.json'), JSON.stringify({
    ...dataRecord(data.loaded, trainer.dataInfo), preset: run.preset, genotypeSource: run.genotypeSource,
    genotype: genotypeToJson(run.genotype), python: genotypeToPython(run.genotype), config: run.config,
  }, null, 2) + '\n');
  const { network, auxiliary } = trainer.net.parameterCounts();
  return drive(trainer, lock, run.out, `${run.preset} preset, ${run.config.epochs} epochs, seed ${run.config.seed}, ${network} parameters (+${auxiliary} auxiliary)`);
}

/** run.json as begin() writes it (empty where there is none). */
interface RunFile {
  data?: string;
  dataInfo?: DataInfo;
  preset?: string;
  genotypeSource?: string;
  genotype?: ReturnType<typeof genotypeToJson>;
  config?: TrainConfig;
}

function readRun(dir: string): RunFile {
  const path = join(dir, 'run.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
}

/** The --data a run used, as run.json beside its checkpoint records it (undefined: the embedded data). */
export function runDataDir(dir: string): string | undefined {
  const { data } = readRun(dir);
  return data === EMBEDDED_SOURCE ? undefined : data;
}

async function resume(dir: string, dataFlag: string | undefined, backend: () => Promise<Backend>): Promise<number> {
  const noCheckpoint = `--resume ${dir}: no checkpoint.bin there (sgas train writes one after each epoch)`;
  if (!existsSync(dir)) throw new UsageError(noCheckpoint);
  const run = readRun(dir);
  const dataDir = dataFlag ?? runDataDir(dir);
  return inRunFolder(dir, LOCK, async (lock) => {
    const checkpoint = readCheckpoint(join(dir, CHECKPOINT), LOCK.log);
    if (!checkpoint) {
      // Stopped before its first checkpoint: run.json holds all it takes to start it again.
      if (!run.config || !run.genotype) throw new UsageError(noCheckpoint);
      LOCK.log(`${dir}: no checkpoint yet (the training stopped in its first epoch); starting it again from run.json`);
      const again: NewTraining = {
        out: dir, preset: run.preset ?? DEFAULT_TRAIN_PRESET, config: storedTrainConfig(run.config), genotype: parseGenotype(JSON.stringify(run.genotype)),
        genotypeSource: run.genotypeSource ?? 'run.json', data: dataFlags({ data: dataDir }), like: run.dataInfo,
      };
      return begin(again, await trainData(again), lock, backend);
    }
    const { config, dataInfo } = readTrainCheckpoint(checkpoint.bytes, checkpoint.path).state;
    const loaded = await loadRunData(dataFlags({ data: dataDir }), { parts: { train: config.maxImages, test: config.maxTestImages }, like: dataInfo });
    const trainer = Trainer.fromCheckpoint(await backend(), checkpoint.bytes, loaded.train!, loaded.test!, checkpoint.path);
    if (trainer.finished) process.stderr.write(`${dir}: the training already finished (${trainer.epochs} epochs)\n`);
    return drive(trainer, lock, dir, `resuming at epoch ${trainer.epoch + 1} of ${trainer.epochs}`);
  });
}

async function drive(trainer: Trainer, lock: RunLock, out: string, what: string): Promise<number> {
  const log = new JsonLines(join(out, 'log.jsonl'));
  log.retain((r) => typeof r.epoch === 'number' && r.epoch < trainer.epoch);
  const steps = trainer.stepsPerEpoch;
  const progress = new Progress(trainer.epochs * steps);
  progress.log(`sgas train: ${what}; writing to ${out}`);
  const plan = describePlan(await trainer.memoryPlan());
  if (plan) progress.log(plan);
  let done = trainer.epoch * steps;
  let saved = trainer.epoch;
  try {
    await trainer.run({
      step: (s) => {
        lock.confirm();
        done++;
        progress.update(done, { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, loss: s.loss, acc: s.accuracy, lr: s.lr });
      },
      epoch: (r) => {
        progress.log(epochLine(r));
        log.write({ type: 'epoch', ...r });
      },
      checkpoint: (bytes, epoch) => {
        lock.confirm();
        writeCheckpoint(out, bytes);
        saved = epoch + 1;
      },
    });
    progress.done();
    const last = trainer.records[trainer.records.length - 1];
    if (last) {
      process.stdout.write(`test accuracy ${(100 * last.testAccuracy).toFixed(2)}% (loss ${last.testLoss.toFixed(4)}) on ${trainer.data.test.n} images after ${last.epoch + 1} epochs\n`);
    }
    return 0;
  } catch (e) {
    throw withResumeHint(withMemoryHint(e, trainer.net.recomputeCells), out, saved, 'sgas train');
  } finally {
    trainer.release();
  }
}

function epochLine(r: TrainEpochRecord): string {
  return `epoch ${r.epoch + 1}/${r.epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(1)}%  ` +
    `test loss ${r.testLoss.toFixed(4)} acc ${(100 * r.testAccuracy).toFixed(2)}%  lr ${r.lr.toFixed(5)}  drop path ${r.dropPathProb.toFixed(3)}  ${r.seconds.toFixed(1)}s`;
}
