// search(options, hooks): an SGAS search in its run folder, as `sgas search` runs it (the command
// is this function plus a progress bar): run.json, log.jsonl, the SVG figures and a checkpoint
// after every epoch, genotype.json at the end. Resolves with the report genotype.json holds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DataInfo } from '../data/dataInfo.ts';
import type { LoadedData } from '../data/load.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import { DEFAULT_PRESET, searchEpochs, type SearchConfig } from '../search/config.ts';
import type { TrainParameters } from '../eval/parameters.ts';
import { cellWeightsText } from '../eval/cellWeightsText.ts';
import { searchReport, type SearchReport } from '../search/report.ts';
import { prepareSearchData, Search, withDataImageSize, type EpochRecord, type SearchData, type StepInfo } from '../search/search.ts';
import { UsageError } from '../cli/args.ts';
import { CHECKPOINT, hasCheckpoint, readCheckpoint, type LoadedCheckpoint } from '../cli/checkpointFiles.ts';
import { dataRecord, loadRunData, type DataFlags } from '../cli/dataFlags.ts';
import { writeFileAtomic } from '../cli/files.ts';
import { inRunFolder, type RunLock } from '../cli/runLock.ts';
import { writeSearchPlots } from '../cli/searchPlots.ts';
import { dataOptions, defaultSearchOut, searchConfigOf, type SearchOptions } from './options.ts';
import { readRunFile, runDataDir } from './runFile.ts';
import { backendFor, runInFolder, type OpenBackend, type RunHooks } from './runLoop.ts';

export type SearchHooks = RunHooks<StepInfo, EpochRecord>;

export interface SearchOutcome {
  out: string;
  /** What genotype.json holds: the genotype, its Python string, the softmaxed alphas, the config, time, accuracy and the cell's weights. */
  report: SearchReport;
}

/** How a search starts in its folder: new from a config, or from the folder's checkpoint. */
export type SearchStart =
  | { kind: 'new'; out: string; preset: string; config: SearchConfig; data: DataFlags; /** A resume before the first checkpoint: the run's data record. */ like?: DataInfo }
  | { kind: 'checkpoint'; out: string; preset: string; checkpoint: LoadedCheckpoint; data: DataFlags };

/** run.json as a search writes it. */
interface SearchRunFile {
  data?: string;
  dataInfo?: DataInfo;
  preset?: string;
  config?: SearchConfig;
  /** Written when the search ends. */
  trainParameters?: TrainParameters;
}

const lockOptions = (log: (line: string) => void) => ({ command: 'sgas search', log });

/**
 * Takes the search folder that `options` name and hands `work` how the search starts there: a new
 * search (refused where the folder already holds one), or a resume from its checkpoint (started
 * again from run.json when it stopped before its first).
 */
export async function inSearchFolder<T>(
  options: SearchOptions, log: (line: string) => void, work: (start: SearchStart, lock: RunLock) => Promise<T>,
): Promise<T> {
  const data = dataOptions(options.data);
  if (!options.resume) {
    const { preset, config } = searchConfigOf(options);
    const out = options.out ?? defaultSearchOut(preset, config);
    return inRunFolder(out, lockOptions(log), (lock) => {
      if (hasCheckpoint(out)) throw new UsageError(`${out} already holds a search checkpoint: resume it with --resume ${out}, or choose another --out`);
      return work({ kind: 'new', out, preset, config, data }, lock);
    });
  }
  const dir = options.out;
  const noCheckpoint = `--resume ${dir}: no checkpoint.bin there (a search writes one after each epoch)`;
  if (!dir || !existsSync(dir)) throw new UsageError(noCheckpoint);
  const run = readRunFile<SearchRunFile>(dir);
  const resumed: DataFlags = { ...data, dir: data.dir ?? runDataDir(run) };
  const preset = run.preset ?? DEFAULT_PRESET;
  return inRunFolder(dir, lockOptions(log), (lock) => {
    const checkpoint = readCheckpoint(join(dir, CHECKPOINT), log);
    if (checkpoint) return work({ kind: 'checkpoint', out: dir, preset, checkpoint, data: resumed }, lock);
    if (!run.config) throw new UsageError(noCheckpoint);
    log(`${dir}: no checkpoint yet (the search stopped in its first epoch); starting it again from run.json`);
    return work({ kind: 'new', out: dir, preset, config: run.config, data: resumed, like: run.dataInfo }, lock);
  });
}

/** Runs an SGAS search to its end in its run folder (options.out), or continues one (options.resume). */
export function search(options: SearchOptions = {}, hooks: SearchHooks = {}): Promise<SearchOutcome> {
  return backendFor(options, hooks, (open) => searchWith(options, hooks, open));
}

/** search() on the backend `open` gives, opened once the flags and the data have been checked. */
export async function searchWith(options: SearchOptions, hooks: SearchHooks, open: OpenBackend): Promise<SearchOutcome> {
  const log = hooks.log ?? (() => {});
  hooks.signal?.throwIfAborted();
  return inSearchFolder(options, log, async (start, lock) => {
    const first = start.kind === 'new' ? await newSearch(start, open, log) : await searchFromCheckpoint(start, open, log);
    if (first.finished) log(`${start.out}: the search already finished; writing its results again`);
    return runInFolder(first, {
      out: start.out, lock, command: 'sgas search', hooks,
      afterEpoch: (records) => writeSearchPlots(start.out, [...records]),
    }, async (search) => {
      const result = (await search.result());
      const report = searchReport(search, result);
      writeSearchResult(start.out, report);
      writeSearchPlots(start.out, search.records, result.genotype);
      return { out: start.out, report };
    });
  });
}

/**
 * A finished search's results in its folder: genotype.json, and beside the settings in run.json the
 * found cell's weights at the default training preset, so a folder of runs compares at a glance.
 */
export function writeSearchResult(out: string, report: SearchReport): void {
  writeFileAtomic(join(out, 'genotype.json'), JSON.stringify(report, null, 2) + '\n');
  if (existsSync(join(out, 'run.json'))) {
    writeFileAtomic(join(out, 'run.json'), JSON.stringify({ ...readRunFile<SearchRunFile>(out), trainParameters: report.trainParameters }, null, 2));
  }
}

/** A search's closing line: where its genotype is, and what the cell weighs once trained. */
export function searchResultLine(out: string, report: SearchReport): string {
  return `genotype written to ${join(out, 'genotype.json')}; the cell ${cellWeightsText(report.trainParameters)}`;
}

/** Loads and describes the run's training images; an image folder sets the run's image size. */
async function searchData(config: SearchConfig, data: DataFlags, like: DataInfo | undefined, log: (line: string) => void): Promise<{ loaded: LoadedData; data: SearchData }> {
  const loaded = await loadRunData(data, { parts: { train: config.maxImages }, like, batch: { size: config.batchSize, share: config.trainPortion }, log });
  // An image folder is loaded at its run's size (--image-size or the folder's own): the preset's is for IDX and CIFAR-10.
  config.imageSize = withDataImageSize(config, loaded.train!).imageSize;
  return { loaded, data: prepareSearchData(loaded.train!, config) };
}

async function newSearch(start: Extract<SearchStart, { kind: 'new' }>, open: OpenBackend, log: (line: string) => void): Promise<Search> {
  const { config } = start;
  const data = await searchData(config, start.data, start.like, log);
  const search = new Search(await open(), config, data.data);
  writeFileAtomic(join(start.out, 'run.json'), JSON.stringify({ ...dataRecord(data.loaded, search.dataInfo), preset: start.preset, config }, null, 2));
  log(`sgas search: ${start.preset} preset, ${searchEpochs(config)} epochs, seed ${config.seed}, criterion ${config.criterion}; writing to ${start.out}`);
  return search;
}

async function searchFromCheckpoint(start: Extract<SearchStart, { kind: 'checkpoint' }>, open: OpenBackend, log: (line: string) => void): Promise<Search> {
  const { bytes, path } = start.checkpoint;
  const { state } = decodeCheckpoint<{ config: SearchConfig; dataInfo?: DataInfo }>(bytes, path);
  const loaded = await loadRunData(start.data, { parts: { train: state.config.maxImages }, like: state.dataInfo, log });
  const search = Search.fromCheckpoint(await open(), bytes, loaded.train!, path);
  const at = search.stoppedAt;
  log(`sgas search: resuming at epoch ${search.epoch + 1} of ${search.epochs}${at ? `, after its step ${at.step} of ${at.steps}` : ''}; writing to ${start.out}`);
  return search;
}
