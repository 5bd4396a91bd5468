// window.sgasGpu: the page's side of the cross-adapter checks. It lists the adapters navigator.gpu
// offers, runs the golden cases and the tiny search on any one of them (apart from the page's own
// search), and loses the device of the page's search on purpose, which the session survives
// (src/train/deviceLoss.ts). Kept apart from main.ts and testHook.ts, so the page's engine can move.
import { createWebGpuBackend, listAdapters, type AdapterSummary, type FeatureLevel, type WebGpuBackend } from '../../runtime/index.ts';
import type { TensorResult } from '../golden/runner.ts';
import { resultReport, type SearchReport } from '../search/report.ts';
import { tinySearch } from '../search/smoke.ts';
import type { DeviceLoss } from '../train/deviceLoss.ts';
import { trainingData } from './data.ts';
import type { SearchSession } from './session.ts';
import { runGoldenFiles } from './testHook.ts';

export interface GpuHook {
  adapters(): Promise<AdapterSummary[]>;
  /** Golden files from /golden/ on a fresh device of the adapter (--adapter INDEX|TEXT rules). */
  golden(adapter: string, files: string[], featureLevel?: FeatureLevel): Promise<TensorResult[]>;
  /** The tiny preset's search on a fresh device of the adapter; genotype.json's fields. */
  tinySearch(adapter: string, seed: number): Promise<Pick<SearchReport, 'genotype' | 'python' | 'alphas'>>;
  /** Destroys the device the page's search runs on, as a GPU reset would; false when it runs on WebAssembly. */
  loseDevice(): Promise<boolean>;
  deviceLosses(): DeviceLoss[];
}

declare global {
  interface Window {
    sgasGpu: GpuHook;
  }
}

async function onAdapter<T>(adapter: string, featureLevel: FeatureLevel | undefined, work: (backend: WebGpuBackend) => Promise<T>): Promise<T> {
  const backend = await createWebGpuBackend({ adapter, featureLevel });
  try {
    return await work(backend);
  } finally {
    backend.destroy();
  }
}

export function installGpuHook(session: SearchSession): void {
  window.sgasGpu = {
    adapters: async () => await listAdapters(),
    golden: (adapter, files, featureLevel) => onAdapter(adapter, featureLevel, (backend) => runGoldenFiles(backend, files)),
    tinySearch: (adapter, seed) => onAdapter(adapter, undefined, async (backend) => resultReport(await tinySearch(backend, await trainingData(), seed))),
    loseDevice: async () => {
      const backend = await session.currentBackend();
      if (!('device' in backend)) return false;
      (backend as WebGpuBackend).device.destroy();
      return true;
    },
    deviceLosses: () => session.deviceLosses,
  };
}
