// Node-only: the adapters Dawn (npm `webgpu`) reaches, one instance per backend and adapter. The
// browser bundle swaps this file for a stub (esbuild.config.mjs), so nothing from here leaks into a page.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { summarize, type FoundAdapter } from './adapters.ts';
import type { ChoiceStore } from './autotune.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Dawn's backends worth asking on each platform, full WebGPU ones first. */
const BACKENDS: Record<string, string[]> = {
  linux: ['vulkan', 'opengles'],
  darwin: ['metal'],
  win32: ['d3d12', 'vulkan', 'd3d11'],
};

// Mesa's Wayland probe (EGL for Dawn's OpenGL ES backend, the device-select Vulkan layer) prints
// "XDG_RUNTIME_DIR is invalid or not set" when that variable is unset or not an absolute path, as
// under sudo, cron, CI and containers. A private empty folder leaves it nothing to connect to and
// nothing to say; a valid folder of the user's stays as it is.
function quietRuntimeDir(): void {
  const current = process.env.XDG_RUNTIME_DIR;
  if (current && isAbsolute(current) && existsSync(current)) return;
  const dir = mkdtempSync(join(tmpdir(), 'sgas-xdg-'));
  process.env.XDG_RUNTIME_DIR = dir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

// One Dawn instance per set of flags and driver environment, kept for the process lifetime: Dawn
// crashes the process if an instance is garbage collected while a device it made is in use, and
// asking a kept instance again (a device lost, another backend opened) starts no driver anew.
const instances = new Map<string, GPU>();

type Create = (flags: string[]) => GPU;

async function loadDawn(): Promise<Create> {
  quietRuntimeDir();
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  return (flags) => {
    const key = [...flags, process.env.VK_ICD_FILENAMES].join('\n');
    let gpu = instances.get(key);
    if (!gpu) instances.set(key, (gpu = webgpu.create(flags)));
    return gpu;
  };
}

let prepared = false;

/**
 * What the drivers need, set only where the user has not: SwiftShader (Chromium's software Vulkan)
 * added beside any system Vulkan driver, and EGL without a display for Mesa's OpenGL ES
 * (XDG_RUNTIME_DIR: quietRuntimeDir, for every platform's Dawn).
 */
function prepareEnvironment(): void {
  if (prepared || process.platform !== 'linux') return;
  prepared = true;
  const env = process.env;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD) && !env.VK_ADD_DRIVER_FILES?.includes(SWIFTSHADER_ICD)) {
    env.VK_ADD_DRIVER_FILES = [env.VK_ADD_DRIVER_FILES, SWIFTSHADER_ICD].filter(Boolean).join(delimiter);
  }
  env.NODEVICE_SELECT ??= '1';
  env.EGL_PLATFORM ??= 'surfaceless';
}

// Only an adapter name no driver has: dawn.node then lists the backend's adapters in its error.
const NO_SUCH_ADAPTER = 'adapter=sgas: list the adapters';

/** The names of a backend's adapters, from the error dawn.node raises for an adapter it lacks. */
async function adapterNames(create: Create, backend: string): Promise<string[]> {
  try {
    await create([`backend=${backend}`, NO_SUCH_ADAPTER]).requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    return [];
  } catch (e) {
    const names = [...(e as Error).message.matchAll(/^ \* backend: '([^']*)', name: '(.*)'$/gm)];
    return names.filter(([, b]) => b === backend).map(([, , name]) => name!);
  }
}

/** Whether Dawn's listed name is this adapter's (GPUAdapterInfo.device is the name, lower-cased and dashed). */
function isNamed(adapter: GPUAdapter, name: string): boolean {
  return adapter.info.device === name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/**
 * Every adapter of the backends, Dawn's high-performance pick first within each. Requests are made
 * in compatibility mode, which every adapter answers; a core-capable one says so with the
 * 'core-features-and-limits' feature.
 */
async function discover(create: Create, backends: string[]): Promise<FoundAdapter[]> {
  const found: FoundAdapter[] = [];
  const request = (flags: string[]) => () =>
    create(flags).requestAdapter({ featureLevel: 'compatibility', powerPreference: 'high-performance' } as GPURequestAdapterOptions).catch(() => null);
  for (const backend of backends) {
    const requestPreferred = request([`backend=${backend}`]);
    const preferred = await requestPreferred();
    const names = await adapterNames(create, backend);
    const first = preferred ? names.find((name) => isNamed(preferred, name)) ?? '' : undefined;
    if (preferred) found.push(summarize(preferred, found.length, backend, first!, requestPreferred));
    for (const name of names.filter((n) => n !== first)) {
      const requestNamed = request([`backend=${backend}`, `adapter=${name}`]);
      const adapter = await requestNamed();
      // The preferred one again, should its listed name not have been recognised.
      const again = preferred && adapter?.info.device === preferred.info.device && adapter.info.description === preferred.info.description;
      if (adapter && !again) found.push(summarize(adapter, found.length, backend, name, requestNamed));
    }
  }
  return found;
}

/** A Dawn instance that offers only this adapter: for another WebGPU user in the process (TF.js in the bench) to get the same one. */
export async function dawnInstanceFor(adapter: Pick<FoundAdapter, 'backend' | 'device'>): Promise<GPU> {
  prepareEnvironment();
  return (await loadDawn())([`backend=${adapter.backend}`, `adapter=${adapter.device}`]);
}

let listing: Promise<FoundAdapter[]> | null = null;

/** The adapters, found once per process (each request of an OpenGL ES adapter has Dawn start and warn again). */
export function listNodeAdapters(): Promise<FoundAdapter[]> {
  listing ??= (async () => {
    prepareEnvironment();
    const create = await loadDawn();
    const backends = BACKENDS[process.platform] ?? [];
    const found = await discover(create, backends);
    // An old Vulkan loader ignores VK_ADD_DRIVER_FILES: then SwiftShader takes the place of the system drivers.
    if (backends.includes('vulkan') && !found.some((a) => a.backend === 'vulkan') && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      return [...(await discover(create, ['vulkan'])), ...found].map((a, index) => ({ ...a, index }));
    }
    return found;
  })();
  return listing;
}

/**
 * The autotune's choices in a JSON file: $SGAS_CACHE_DIR, else $XDG_CACHE_HOME/sgas-webgpu, else
 * ~/.cache/sgas-webgpu; kernel-choices.json holds every adapter's, rewritten whole (temp, rename).
 */
export function kernelChoiceStore(): ChoiceStore {
  const dir = process.env.SGAS_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sgas-webgpu');
  const file = join(dir, 'kernel-choices.json');
  const all = (): Record<string, Record<string, string>> => {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return {};
    }
  };
  return {
    where: file,
    load: async (adapter) => all()[adapter] ?? {},
    save: async (adapter, choices) => {
      mkdirSync(dir, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify({ ...all(), [adapter]: choices }, null, 1) + '\n');
      renameSync(temp, file);
    },
  };
}
