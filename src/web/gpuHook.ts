// window.sgasGpu: the page's side of the cross-adapter checks. The page's WebGPU lives in its engine
// Worker, so each call is a request to it (protocol.ts): list the adapters the Worker's navigator.gpu
// offers, run the golden cases or the tiny search on a fresh device of any one of them (apart from
// the page's own search), and lose the device of the page's search on purpose, which the engine
// survives (src/train/deviceLoss.ts) and reports. Kept apart from testHook.ts: these are about
// WebGPU implementations, not the page's search.
import type { AdapterSummary, FeatureLevel } from '../../runtime/index.ts';
import type { TensorResult } from '../golden/runner.ts';
import type { SearchReport } from '../search/report.ts';
import type { DeviceLoss } from '../train/deviceLoss.ts';
import type { EngineClient } from './engineClient.ts';
import type { SearchSession } from './session.ts';

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

export function installGpuHook(engine: EngineClient, session: SearchSession): void {
  window.sgasGpu = {
    adapters: async () => (await engine.ask({ type: 'adapters' })).adapters,
    golden: async (adapter, files, featureLevel) => (await engine.ask({ type: 'golden', files, adapter, featureLevel })).results,
    tinySearch: async (adapter, seed) => (await engine.ask({ type: 'tiny-search', adapter, seed })).result!,
    loseDevice: async () => (await engine.ask({ type: 'lose-device' })).lost,
    deviceLosses: () => [...session.deviceLosses],
  };
}
