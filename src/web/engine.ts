// The engine Worker (a module worker, dist/web/engine.js): the backend, the data and the search
// run here, so the page's main thread only draws, takes input and keeps IndexedDB. It answers the
// requests of protocol.ts and posts the events of the job it runs.
import type { DataInfo } from '../data/dataInfo.ts';
import type { Dataset } from '../data/dataset.ts';
import { kindFamily, parseGoldenFile } from '../golden/goldenFile.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import type { SearchConfig } from '../search/config.ts';
import { runGolden, type TensorResult } from '../golden/runner.ts';
import type { Backend } from '../../runtime/index.ts';
import { testData, trainingData } from './data.ts';
import { openEngineBackend } from './engineBackend.ts';
import { folderTrainingImages, summariseFolder } from './folderReader.ts';
import { transferables, type DataSource, type EngineEvent, type EngineRequest } from './protocol.ts';
import { SearchJob, type SearchSource } from './searchJob.ts';
import { SweepJobRun } from './sweepJob.ts';

/** The parts of a dedicated worker's global scope used here (the DOM lib types the window). */
interface WorkerScope {
  postMessage(message: EngineEvent, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineRequest>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

function post(event: EngineEvent): void {
  scope.postMessage(event, transferables(event));
}

let backend: Promise<Backend> | null = null;
/** The job the engine runs or holds: the page's own search, or a sweep's job. */
let current: { job: number; stop(then: 'pause' | 'discard'): Promise<void> } | null = null;

/**
 * A search's training images: of a new search by its settings, of a resumed one by its checkpoint's
 * record, as `sgas search` and `sgas search --resume` load them. A folder's decoded images go to
 * the page to keep with the search.
 */
async function searchImages(job: number, source: DataSource, from: SearchSource): Promise<Dataset> {
  if (source.kind === 'embedded') return trainingData();
  let run: { maxImages: number; like?: DataInfo; batch?: { size: number; share: number } };
  if ('settings' in from) {
    const { maxImages, batchSize, trainPortion } = from.settings.config;
    run = { maxImages, batch: { size: batchSize, share: trainPortion } };
  } else {
    const { config, dataInfo } = decodeCheckpoint<{ config: SearchConfig; dataInfo?: DataInfo }>(from.checkpoint, from.source).state;
    run = { maxImages: config.maxImages, like: dataInfo };
  }
  const { train, kept } = await folderTrainingImages(source.folder, source.settings, run);
  post({ type: 'data', job, kept, files: [...train.files!] });
  return train;
}

/** Decoding progress is posted at most this often. */
const PROGRESS_MS = 100;

function opened(): Promise<Backend> {
  if (!backend) throw new Error('the engine has no backend: the page sends open first');
  return backend;
}

/** Starts a job in place of the current one, which stops (and is dropped) first. */
async function startJob(job: number, source: DataSource, from: SearchSource): Promise<void> {
  const previous = current;
  const next = new SearchJob(job, post);
  current = next;
  await previous?.stop('discard');
  await next.start(await opened(), searchImages(job, source, from), from);
}

async function golden(files: string[]): Promise<TensorResult[]> {
  const be = await opened();
  const fetchGolden = async (file: string) => {
    const response = await fetch(`golden/${file}`);
    if (!response.ok) throw new Error(`golden/${file}: HTTP ${response.status}`);
    return parseGoldenFile(await response.text(), file);
  };
  const results: TensorResult[] = [];
  for (const file of files) {
    const set = await fetchGolden(file);
    // A network set is read through its weights file, as `sgas golden` does.
    if (kindFamily(set.kind) === 'network' && !file.endsWith('_weights.json')) continue;
    const readSibling = (suffix: string) => fetchGolden(file.replace(/_weights\.json$/, suffix));
    for (const r of await runGolden(be, set, file, readSibling)) results.push({ ...r, file });
  }
  return results;
}

async function handle(request: EngineRequest): Promise<void> {
  switch (request.type) {
    case 'open': {
      const opening = openEngineBackend(request.backend);
      backend = opening.then((b) => b.backend);
      backend.catch(() => {});
      try {
        const b = await opening;
        post({ type: 'opened', backend: b.backend.name === 'wasm' ? 'wasm' : 'webgpu', label: b.label, note: b.note });
      } catch (e) {
        post({ type: 'open-failed', message: (e as Error).message });
      }
      return;
    }
    case 'search':
      return startJob(request.job, request.data, { settings: request.settings });
    case 'resume':
      if (request.checkpoint) return startJob(request.job, request.data, { checkpoint: request.checkpoint, source: request.source });
      if (!(current instanceof SearchJob) || current.job !== request.job) return post({ type: 'failed', job: request.job, message: `search ${request.job} is not held by the engine` });
      return current.resume();
    case 'stop':
      if (current?.job === request.job) await current.stop(request.then);
      return;
    case 'folder': {
      let last = 0;
      const progress = (decoded: number) => {
        if (performance.now() - last < PROGRESS_MS) return;
        last = performance.now();
        post({ type: 'decoding', request: request.id, decoded });
      };
      try {
        post({ type: 'folder', id: request.id, summary: await summariseFolder(request.folder, request.settings, progress) });
      } catch (e) {
        post({ type: 'folder', id: request.id, summary: null, error: (e as Error).message });
      }
      return;
    }
    case 'sweep-job': {
      const previous = current;
      const next = new SweepJobRun(request.job, post);
      current = next;
      await previous?.stop('discard');
      return next.start(await opened(), request.work, request.checkpoint, trainingData(), testData);
    }
    case 'golden':
      try {
        post({ type: 'golden', id: request.id, results: await golden(request.files) });
      } catch (e) {
        post({ type: 'golden', id: request.id, results: [], error: (e as Error).message });
      }
  }
}

scope.onmessage = ({ data: request }) => {
  handle(request).catch((e: Error) => 'job' in request && post({ type: 'failed', job: request.job, message: e.message }));
};
