// Every WebGPU adapter this JS runtime can reach, described alike in Node (Dawn: one instance per
// backend and adapter) and in a page (navigator.gpu), and the choice among them: `--adapter INDEX|TEXT`,
// or auto, which prefers a real GPU, and a full (core) WebGPU one over a compatibility-mode one.
import { GpuError } from './errors.ts';

export type FeatureLevel = 'core' | 'compatibility';

/** What `sgas adapters` prints and `sgas doctor` reports for one adapter. */
export interface AdapterSummary {
  index: number;
  /** Dawn's backend in Node (vulkan, opengles, metal, d3d12, …); 'browser' in a page, which does not say. */
  backend: string;
  /** core: full WebGPU; compatibility: only WebGPU compatibility mode (OpenGL ES, D3D11). */
  featureLevel: FeatureLevel;
  vendor: string;
  architecture: string;
  /** The driver's adapter name where the backend gives one (Dawn's listing), else GPUAdapterInfo.device. */
  device: string;
  description: string;
  /** 'cpu' for a software rasterizer (SwiftShader, llvmpipe, WARP…), 'gpu' otherwise. */
  type: 'gpu' | 'cpu';
  /** The adapter's own isFallbackAdapter flag. */
  fallback: boolean;
  /** The limits the runtime depends on, as the adapter offers them. */
  limits: Record<string, number>;
  features: string[];
}

/** An adapter as a listing found it: a fresh GPUAdapter of it on request (a device consumes the one it came from). */
export interface FoundAdapter extends AdapterSummary {
  fresh(): Promise<GPUAdapter | null>;
}

/** The limits the runtime raises from the spec defaults to what the adapter offers (device.ts), and reports. */
export const RELIED_ON_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** What the runtime reports of an adapter; `request` gets it again (the first time, the one summarized). */
export function summarize(adapter: GPUAdapter, index: number, backend: string, name: string, request: () => Promise<GPUAdapter | null>): FoundAdapter {
  const info = adapter.info;
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const device = name || info.device || '';
  const limits: Record<string, number> = {};
  for (const limit of RELIED_ON_LIMITS) limits[limit] = adapter.limits[limit];
  const features = [...adapter.features].map(String).sort();
  const software = fallback || SOFTWARE.test(`${info.architecture} ${device} ${info.description}`);
  let unused: GPUAdapter | null = adapter;
  const fresh = async () => {
    const first = unused;
    unused = null;
    return first ?? request();
  };
  return {
    index, backend, featureLevel: adapter.features.has('core-features-and-limits') ? 'core' : 'compatibility',
    vendor: info.vendor, architecture: info.architecture, device, description: info.description,
    type: software ? 'cpu' : 'gpu', fallback, limits, features, fresh,
  };
}

/** The same adapter seen twice (by two requests, or after a device was lost and the list made again). */
export function sameAdapter(a: AdapterSummary, b: AdapterSummary): boolean {
  return a.backend === b.backend && a.device === b.device && a.description === b.description &&
    a.vendor === b.vendor && a.architecture === b.architecture && a.featureLevel === b.featureLevel;
}

/** The adapter's name as logs, headers and errors show it. */
export function adapterName(a: Omit<AdapterSummary, 'index'>): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${a.backend} ${name}${a.type === 'cpu' ? ' (software)' : ''}${a.featureLevel === 'compatibility' ? ' (compatibility mode)' : ''}`;
}

const adapterLine = (a: AdapterSummary) => `[${a.index}] ${adapterName(a)}`;

/** auto: a real GPU before a software one, core before compatibility mode, then the listing's order. */
function autoRank(a: AdapterSummary): number {
  return (a.type === 'cpu' ? 2 : 0) + (a.featureLevel === 'compatibility' ? 1 : 0);
}

/**
 * `--adapter INDEX|TEXT` (TEXT: a case-insensitive substring of the backend, vendor, architecture,
 * device name, description or feature level; the first match in listing order), or auto.
 */
export function chooseAdapter<A extends AdapterSummary>(adapters: readonly A[], spec = 'auto'): A {
  const choices = () => adapters.map(adapterLine).join('; ');
  if (!adapters.length) throw new GpuError('no WebGPU adapter found');
  if (spec === 'auto') return [...adapters].sort((a, b) => autoRank(a) - autoRank(b) || a.index - b.index)[0]!;
  if (/^\d+$/.test(spec)) {
    const found = adapters.find((a) => a.index === Number(spec));
    if (!found) throw new GpuError(`--adapter ${spec}: there is no adapter ${spec} (adapters: ${choices()})`);
    return found;
  }
  const text = spec.toLowerCase();
  const found = adapters.find((a) =>
    [a.backend, a.vendor, a.architecture, a.device, a.description, a.featureLevel].some((field) => field.toLowerCase().includes(text)));
  if (!found) throw new GpuError(`--adapter ${spec}: no adapter's backend, vendor, architecture or description contains '${spec}' (adapters: ${choices()})`);
  return found;
}
