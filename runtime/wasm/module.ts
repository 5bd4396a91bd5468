// Finds and compiles the kernels that scripts/build-wasm.mjs leaves in dist/wasm/: next to the
// sources (runtime/wasm/ → dist/wasm/), or next to a bundle (dist/sgas.mjs, dist/browser/runtime.js,
// and the page's dist/web/main.js, which esbuild.config.mjs gives its own copy in dist/web/wasm/).
import { GpuError } from '../errors.ts';

export type KernelBuild = 'kernels.wasm' | 'kernels-threads.wasm';

const PLACES = ['../../dist/wasm/', './wasm/', '../wasm/'];
// A page (dist/web/main.js) has its copy in ./wasm/: ask there first, so no 404 precedes it.
const PAGE_PLACES = ['./wasm/', '../wasm/', '../../dist/wasm/'];

export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** A Node built-in, imported by a name the bundler does not follow, so browser bundles never see it. */
export function nodeBuiltin<T>(name: string): Promise<T> {
  return import(name) as Promise<T>;
}

async function readBytes(file: KernelBuild): Promise<ArrayBuffer> {
  const tried: string[] = [];
  for (const place of isNode ? PLACES : PAGE_PLACES) {
    const url = new URL(place + file, import.meta.url);
    tried.push(url.href);
    if (isNode) {
      const { readFile } = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
      try {
        const bytes = await readFile(url);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      } catch {
        continue;
      }
    }
    const response = await fetch(url).catch(() => null);
    if (response?.ok) return response.arrayBuffer();
  }
  throw new GpuError(`wasm: ${file} not found (run npm run build, which compiles wasm/*.c); looked at ${tried.join(', ')}`);
}

const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();

export function compileKernels(file: KernelBuild): Promise<WebAssembly.Module> {
  let module = compiled.get(file);
  if (!module) {
    module = readBytes(file).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(file, module);
  }
  return module;
}
