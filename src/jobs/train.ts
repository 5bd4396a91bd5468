// train(options, hooks): a genotype trained from scratch in its run folder, as `sgas train` runs it
// (the command is this function plus a progress bar): run.json, log.jsonl and a checkpoint after
// every epoch, result.json at the end. Resolves with what result.json holds.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DataInfo } from '../data/dataInfo.ts';
import type { LoadedData } from '../data/load.ts';
import { DEFAULT_TRAIN_PRESET, storedTrainConfig, type TrainConfig } from '../eval/config.ts';
import { prepareTrainData, readTrainCheckpoint, Trainer, type TrainData, type TrainEpochRecord, type TrainStepInfo } from '../eval/train.ts';
import { genotypeToJson, genotypeToPython, parseGenotype, type Genotype } from '../search/genotype.ts';
import { UsageError } from '../cli/args.ts';
import { CHECKPOINT, hasCheckpoint, readCheckpoint } from '../cli/checkpointFiles.ts';
import { dataRecord, loadRunData, type DataFlags } from '../cli/dataFlags.ts';
import { writeFileAtomic } from '../cli/files.ts';
import { genotypeFlag, isGenotypeLiteral } from '../cli/genotypeFlag.ts';
import { inRunFolder } from '../cli/runLock.ts';
import { dataOptions, defaultTrainOut, trainConfigOf, type TrainOptions } from './options.ts';
import { readRunFile, runDataDir } from './runFile.ts';
import { backendFor, runInFolder, type FolderRun, type OpenBackend, type RunHooks } from './runLoop.ts';

export type TrainHooks = RunHooks<TrainStepInfo, TrainEpochRecord>;

/** result.json: how the trained network did, written when the training ends. */
export interface TrainReport {
  genotype: ReturnType<typeof genotypeToJson>;
  python: string;
  config: TrainConfig;
  /** After the last epoch, on the run's test images. */
  testAccuracy: number;
  testLoss: number;
  testImages: number;
  epochs: number;
  /** Weights of the network as papers count them (auxiliary head apart). */
  parameters: { network: number; auxiliary: number };
  /** What the epochs took, across resumes. */
  seconds: number;
}

/** result.json of a finished training, from its records (also for one computed elsewhere, as by a page in a sweep). */
export function trainReport(
  genotype: Genotype, config: TrainConfig, records: readonly TrainEpochRecord[], testImages: number, parameters: TrainReport['parameters'],
): TrainReport {
  const last = records.at(-1)!;
  return {
    genotype: genotypeToJson(genotype), python: genotypeToPython(genotype), config, testAccuracy: last.testAccuracy, testLoss: last.testLoss,
    testImages, epochs: last.epoch + 1, parameters, seconds: records.reduce((s, r) => s + r.seconds, 0),
  };
}

export interface TrainOutcome {
  out: string;
  report: TrainReport;
}

/** run.json as a training writes it. */
interface TrainRunFile {
  data?: string;
  dataInfo?: DataInfo;
  preset?: string;
  genotypeSource?: string;
  genotype?: ReturnType<typeof genotypeToJson>;
  config?: TrainConfig;
}

interface NewTraining {
  out: string;
  preset: string;
  config: TrainConfig;
  genotype: Genotype;
  /** The genotype as given (a file or a name), kept in run.json. */
  genotypeSource: string;
  data: DataFlags;
  /** The data record of the run this one starts again (a resume before the first checkpoint). */
  like?: DataInfo;
}

/** The genotype option: a file, folder, name or Genotype(...) text, or the genotype itself. */
function genotypeOption(value: TrainOptions['genotype']): { genotype: Genotype; source: string } {
  if (typeof value === 'object') return { genotype: parseGenotype(JSON.stringify(value)), source: 'given' };
  return { genotype: genotypeFlag(value, 'train'), source: String(value) };
}

/** Trains a genotype from scratch to its end in its run folder (options.out), or continues one (options.resume). */
export function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  return backendFor(options, hooks, (open) => trainWith(options, hooks, open));
}

/** train() on the backend `open` gives, opened once the flags and the data have been checked. */
export async function trainWith(options: TrainOptions, hooks: TrainHooks, open: OpenBackend): Promise<TrainOutcome> {
  const log = hooks.log ?? (() => {});
  hooks.signal?.throwIfAborted();
  const lock = { command: 'sgas train', log };
  const data = dataOptions(options.data);
  if (!options.resume) {
    const { preset, config } = trainConfigOf(options);
    const { genotype, source } = genotypeOption(options.genotype);
    const name = typeof options.genotype !== 'string' ? 'genotype' : isGenotypeLiteral(options.genotype) ? 'literal' : basename(options.genotype).replace(/\.\w+$/, '');
    const run: NewTraining = { out: options.out ?? defaultTrainOut(preset, name, config), preset, config, genotype, genotypeSource: source, data };
    const loaded = await trainData(run, log);
    return inRunFolder(run.out, lock, async (folder) => {
      if (hasCheckpoint(run.out)) throw new UsageError(`${run.out} already holds a training checkpoint: resume it with --resume ${run.out}, or choose another --out`);
      return drive(await begin(run, loaded, open, log), { out: run.out, lock: folder, command: 'sgas train', hooks });
    });
  }
  const dir = options.out;
  const noCheckpoint = `--resume ${dir}: no checkpoint.bin there (sgas train writes one after each epoch)`;
  if (!dir || !existsSync(dir)) throw new UsageError(noCheckpoint);
  const run = readRunFile<TrainRunFile>(dir);
  const resumed: DataFlags = { ...data, dir: data.dir ?? runDataDir(run) };
  return inRunFolder(dir, lock, async (folder) => {
    const checkpoint = readCheckpoint(join(dir, CHECKPOINT), log);
    let trainer: Trainer;
    if (!checkpoint) {
      // Stopped before its first checkpoint: run.json holds all it takes to start it again.
      if (!run.config || !run.genotype) throw new UsageError(noCheckpoint);
      log(`${dir}: no checkpoint yet (the training stopped in its first epoch); starting it again from run.json`);
      const again: NewTraining = {
        out: dir, preset: run.preset ?? DEFAULT_TRAIN_PRESET, config: storedTrainConfig(run.config), genotype: parseGenotype(JSON.stringify(run.genotype)),
        genotypeSource: run.genotypeSource ?? 'run.json', data: resumed, like: run.dataInfo,
      };
      trainer = await begin(again, await trainData(again, log), open, log);
    } else {
      const { config, dataInfo } = readTrainCheckpoint(checkpoint.bytes, checkpoint.path).state;
      const loaded = await loadRunData(resumed, { parts: { train: config.maxImages, test: config.maxTestImages }, like: dataInfo, log });
      trainer = Trainer.fromCheckpoint(await open(), checkpoint.bytes, loaded.train!, loaded.test!, checkpoint.path);
      if (trainer.finished) log(`${dir}: the training already finished (${trainer.epochs} epochs)`);
      log(`sgas train: resuming at epoch ${trainer.epoch + 1} of ${trainer.epochs}; writing to ${dir}`);
    }
    return drive(trainer, { out: dir, lock: folder, command: 'sgas train', hooks });
  });
}

/** Loads and describes the run's images; an image folder sets the run's image size. */
async function trainData(run: NewTraining, log: (line: string) => void): Promise<{ loaded: LoadedData; data: TrainData }> {
  const { config } = run;
  const loaded = await loadRunData(run.data, {
    parts: { train: config.maxImages, test: config.maxTestImages }, like: run.like, batch: { size: config.batchSize, share: 1 }, log,
  });
  // An image folder is loaded at its run's size (--image-size or the folder's own).
  if (loaded.format === 'image-folder') config.imageSize = loaded.train!.height;
  return { loaded, data: prepareTrainData(loaded.train!, loaded.test!, config) };
}

/** Builds the network and writes run.json. */
async function begin(run: NewTraining, data: { loaded: LoadedData; data: TrainData }, open: OpenBackend, log: (line: string) => void): Promise<Trainer> {
  const trainer = new Trainer(await open(), run.config, run.genotype, data.data);
  writeFileAtomic(join(run.out, 'run.json'), JSON.stringify({
    ...dataRecord(data.loaded, trainer.dataInfo), preset: run.preset, genotypeSource: run.genotypeSource,
    genotype: genotypeToJson(run.genotype), python: genotypeToPython(run.genotype), config: run.config,
  }, null, 2) + '\n');
  const { network, auxiliary } = trainer.net.parameterCounts();
  log(`sgas train: ${run.preset} preset, ${run.config.epochs} epochs, seed ${run.config.seed}, ${network} parameters (+${auxiliary} auxiliary); writing to ${run.out}`);
  return trainer;
}

/** Trains to the end in the run folder, then writes result.json. */
function drive(first: Trainer, run: FolderRun<TrainStepInfo, TrainEpochRecord>): Promise<TrainOutcome> {
  return runInFolder(first, run, (trainer) => {
    const report = trainReport(trainer.genotype, trainer.config, trainer.records, trainer.data.test.n, trainer.net.parameterCounts());
    writeFileAtomic(join(run.out, 'result.json'), JSON.stringify(report, null, 2) + '\n');
    return { out: run.out, report };
  });
}
