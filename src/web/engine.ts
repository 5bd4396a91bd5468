// The engine Worker (a module worker, dist/web/engine.js): the backend, the data and the search
// run here, so the page's main thread only draws, takes input and keeps IndexedDB. It answers the
// requests of protocol.ts and posts the events of the job it runs. The page's WebGPU lives here,
// so do the cross-adapter checks (golden cases and the tiny search on any adapter, a lost device).
import type { DataInfo } from '../data/dataInfo.ts';
import type { Dataset } from '../data/dataset.ts';
import { kindFamily, parseGoldenFile } from '../golden/goldenFile.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import type { SearchConfig } from '../search/config.ts';
import { runGolden, type TensorResult } from '../golden/runner.ts';
import { createWebGpuBackend, listAdapters, WebGpuBackend, type Backend, type FeatureLevel } from '../../runtime/index.ts';
import { resultReport } from '../search/report.ts';
import { tinySearch } from '../search/smoke.ts';
import { testData, trainingData } from './data.ts';
import { openEngineBackend } from './engineBackend.ts';
import { folderTrainingImages, summariseFolder } from './folderReader.ts';
import { transferables, type DataSource, type EngineEvent, type EngineRequest, type WithoutId } from './protocol.ts';
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
  // A job that survived a lost device runs on a new backend: later jobs and requests use it too.
  const next = new SearchJob(job, post, (replacement) => (backend = Promise.resolve(replacement)));
  current = next;
  await previous?.stop('discard');
  await next.start(await opened(), searchImages(job, source, from), from);
}

/** Runs `work` on a fresh device of the adapter (--adapter INDEX|TEXT rules), apart from the engine's own. */
async function onAdapter<T>(adapter: string, featureLevel: FeatureLevel | undefined, work: (backend: WebGpuBackend) => Promise<T>): Promise<T> {
  const backend = await createWebGpuBackend({ adapter, featureLevel });
  try {
    return await work(backend);
  } finally {
    backend.destroy();
  }
}

async function golden(be: Backend, files: string[]): Promise<TensorResult[]> {
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
      return answer(request.id, { type: 'folder', summary: null }, async () => ({
        type: 'folder', summary: await summariseFolder(request.folder, request.settings, progress),
      }));
    }
    case 'sweep-job': {
      const previous = current;
      const next = new SweepJobRun(request.job, post, (replacement) => (backend = Promise.resolve(replacement)));
      current = next;
      await previous?.stop('discard');
      return next.start(await opened(), request.work, request.checkpoint, trainingData(), testData);
    }
    case 'golden': {
      const { adapter, featureLevel, files } = request;
      return answer(request.id, { type: 'golden', results: [] }, async () => ({
        type: 'golden', results: adapter === undefined ? await golden(await opened(), files) : await onAdapter(adapter, featureLevel, (b) => golden(b, files)),
      }));
    }
    case 'adapters':
      return answer(request.id, { type: 'adapters', adapters: [] }, async () => ({ type: 'adapters', adapters: await listAdapters() }));
    case 'tiny-search':
      return answer(request.id, { type: 'tiny-search', result: null }, async () => ({
        type: 'tiny-search', result: await onAdapter(request.adapter, undefined, async (b) => resultReport(await tinySearch(b, await trainingData(), request.seed))),
      }));
    case 'lose-device':
      return answer(request.id, { type: 'lose-device', lost: false }, async () => {
        const engineBackend = await opened();
        if (engineBackend instanceof WebGpuBackend) engineBackend.device.destroy();
        return { type: 'lose-device', lost: engineBackend instanceof WebGpuBackend };
      });
  }
}

type Answer = WithoutId<Extract<EngineEvent, { id: number }>>;

/** Posts what `work` answers to request `id`, or `failed` (the same kind) with the error that stopped it. */
async function answer(id: number, failed: Answer, work: () => Promise<Answer>): Promise<void> {
  try {
    post({ ...(await work()), id });
  } catch (e) {
    post({ ...failed, id, error: (e as Error).message });
  }
}

scope.onmessage = ({ data: request }) => {
  handle(request).catch((e: Error) => 'job' in request && post({ type: 'failed', job: request.job, message: e.message }));
};
