// Browser stand-in for nodeGpu.ts (swapped in by esbuild.config.mjs): a page only has navigator.gpu,
// and keeps the autotune's choices in IndexedDB.
import type { FoundAdapter } from './adapters.ts';
import type { ChoiceStore } from './autotune.ts';

export async function listNodeAdapters(): Promise<FoundAdapter[]> {
  return [];
}

export async function dawnInstanceFor(): Promise<GPU> {
  throw new Error('a page has one WebGPU: navigator.gpu');
}

const DATABASE = 'sgas-webgpu-kernels';
const STORE = 'choices';

function request<T>(make: (store: IDBObjectStore) => IDBRequest<T>, mode: IDBTransactionMode): Promise<T> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DATABASE, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = make(open.result.transaction(STORE, mode).objectStore(STORE));
      open.result.close();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    };
  });
}

/** The autotune's choices, one IndexedDB record per adapter. */
export function kernelChoiceStore(): ChoiceStore {
  return {
    where: `IndexedDB ${DATABASE}`,
    load: async (adapter) => ((await request((s) => s.get(adapter), 'readonly')) as Record<string, string> | undefined) ?? {},
    save: async (adapter, choices) => void (await request((s) => s.put(choices, adapter), 'readwrite')),
  };
}
