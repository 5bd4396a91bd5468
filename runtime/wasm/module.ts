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

/** `folder`: where the caller put the .wasm files (an app that bundles the runtime itself); else next to this module. */
async function readBytes(file: KernelBuild, folder?: string | URL): Promise<ArrayBuffer> {
  const tried: string[] = [];
  // A relative folder is the page's (a bundle's own URL says nothing about where its app put the files).
  const here = (globalThis as { location?: { href: string } }).location?.href ?? import.meta.url;
  const urls = folder
    ? [new URL(file, new URL(String(folder).replace(/\/?$/, '/'), here))]
    : (isNode ? PLACES : PAGE_PLACES).map((place) => new URL(place + file, import.meta.url));
  for (const url of urls) {
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

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function compileKernels(file: KernelBuild, folder?: string | URL): Promise<WebAssembly.Module> {
  const key = `${folder ?? ''}|${file}`;
  let module = compiled.get(key);
  if (!module) {
    module = readBytes(file, folder).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(key, module);
  }
  return module;
}
