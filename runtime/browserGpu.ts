// Browser stand-in for nodeGpu.ts (swapped in by esbuild.config.mjs): a page only has navigator.gpu.
import type { FoundAdapter } from './adapters.ts';

export async function listNodeAdapters(): Promise<FoundAdapter[]> {
  return [];
}
