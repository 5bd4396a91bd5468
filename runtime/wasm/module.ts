// Finds and compiles the kernels that scripts/build-wasm.mjs leaves in dist/wasm/: next to the
// sources (runtime/wasm/ → dist/wasm/), or next to a bundle (dist/sgas.mjs, dist/browser/runtime.js,
// and the page's dist/web/main.js, which esbuild.config.mjs gives its own copy in dist/web/wasm/).
import { GpuError } from '../errors.ts';

/** One thread or the worker pool's shared memory; 128-bit SIMD alone or with relaxed SIMD (fused multiply-add). */
export interface KernelBuild {
  threads: boolean;
  relaxed: boolean;
}

const fileOf = ({ threads, relaxed }: KernelBuild) => `kernels${threads ? '-threads' : ''}${relaxed ? '-relaxed' : ''}.wasm`;

export const describeBuild = (b: KernelBuild) => (b.relaxed ? '128-bit SIMD + relaxed SIMD (fused multiply-add)' : '128-bit SIMD');

const PLACES = ['../../dist/wasm/', './wasm/', '../wasm/'];
// A page (dist/web/main.js) has its copy in ./wasm/: ask there first, so no 404 precedes it.
const PAGE_PLACES = ['./wasm/', '../wasm/', '../../dist/wasm/'];

export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** A Node built-in, imported by a name the bundler does not follow, so browser bundles never see it. */
export function nodeBuiltin<T>(name: string): Promise<T> {
  return import(name) as Promise<T>;
}

/** `folder`: where the caller put the .wasm files (an app that bundles the runtime itself); else next to this module. */
async function readBytes(file: string, folder?: string | URL): Promise<ArrayBuffer> {
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

export function compileKernels(build: KernelBuild, folder?: string | URL): Promise<WebAssembly.Module> {
  const file = fileOf(build);
  const key = `${folder ?? ''}|${file}`;
  let module = compiled.get(key);
  if (!module) {
    module = readBytes(file, folder).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(key, module);
  }
  return module;
}

// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

let relaxed: Promise<boolean> | null = null;

/**
 * Whether this engine runs relaxed SIMD. Chrome ships it; Node 20's V8 has it behind a flag, which a
 * Node process may turn on for itself before it compiles anything that uses it.
 */
export function relaxedSimdSupported(): Promise<boolean> {
  relaxed ??= (async () => {
    if (WebAssembly.validate(RELAXED_PROBE)) return true;
    if (!isNode) return false;
    const v8 = await nodeBuiltin<typeof import('node:v8')>('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssembly.validate(RELAXED_PROBE);
  })();
  return relaxed;
}

/** The relaxed build where the engine runs it and it was built (clang 16+), else the plain one. */
export async function chooseBuild(threads: boolean, wantRelaxed: boolean | 'auto', folder?: string | URL): Promise<KernelBuild> {
  if (wantRelaxed === false || !(await relaxedSimdSupported())) return { threads, relaxed: false };
  try {
    await compileKernels({ threads, relaxed: true }, folder);
    return { threads, relaxed: true };
  } catch (error) {
    compiled.delete(`${folder ?? ''}|${fileOf({ threads, relaxed: true })}`);
    if (wantRelaxed === true) throw error;
    return { threads, relaxed: false };
  }
}
