// Node-only: the Dawn-backed `navigator.gpu` replacement. The browser bundle swaps this file
// for a stub (esbuild.config.mjs), so nothing from here leaks into a page.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

// Dawn crashes the process if the object from create() is garbage collected while a device
// it made is still in use, so every GPU handed out is pinned here for the process lifetime.
const pinned: GPU[] = [];

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

async function loadDawn(): Promise<(flags: string[]) => GPU> {
  quietRuntimeDir();
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  return webgpu.create;
}

function hasSystemVulkanDriver(): boolean {
  return SYSTEM_ICD_DIRS.some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

// Lavapipe (Mesa) is rejected by Dawn, so a box whose only Vulkan driver is Mesa's still
// needs SwiftShader; it is only used when no usable adapter shows up on its own.
function useSwiftShader(): boolean {
  if (process.env.VK_ICD_FILENAMES || !existsSync(SWIFTSHADER_ICD)) return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.NODEVICE_SELECT ??= '1';
  return true;
}

export async function requestNodeAdapter(options: GPURequestAdapterOptions, flags: string[]): Promise<GPUAdapter | null> {
  const create = await loadDawn();
  if (!hasSystemVulkanDriver() && process.platform === 'linux') useSwiftShader();
  const gpu = create(flags);
  pinned.push(gpu);
  const adapter = await gpu.requestAdapter(options);
  if (adapter || process.platform !== 'linux' || !useSwiftShader()) return adapter;
  const fallback = create(flags);
  pinned.push(fallback);
  return fallback.requestAdapter(options);
}
