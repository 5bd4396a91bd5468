// Browser stand-in for nodeGpu.ts (swapped in by esbuild.config.mjs): a page only has navigator.gpu.
export async function requestNodeAdapter(): Promise<GPUAdapter | null> {
  return null;
}
