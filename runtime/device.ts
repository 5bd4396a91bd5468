// One place that turns "whatever WebGPU this JS runtime has" into a ready GPUDevice.
import { GpuError } from './errors.ts';

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Dawn toggles / adapter selection in Node, e.g. ['adapter=SwiftShader']. */
  nodeFlags?: string[];
  log?: (line: string) => void;
}

export interface OpenedDevice {
  device: GPUDevice;
  adapterInfo: GPUAdapterInfo;
  isSoftware: boolean;
  /** Resolves when the device is lost; `lostReason` is then set. */
  lost: Promise<GPUDeviceLostInfo>;
}

// The device otherwise gets the spec's minimum limits (128 MiB bindings, 8 storage buffers),
// far below what any adapter offers.
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

const NO_ADAPTER =
  'no WebGPU adapter found: on Linux without a GPU install Debian\'s chromium package (it ships SwiftShader: apt-get install chromium) ' +
  'or set VK_ICD_FILENAMES to a Vulkan driver; in a browser enable WebGPU (Chrome 113+, or --enable-unsafe-webgpu headless)';

async function requestAdapter(options: DeviceOptions): Promise<GPUAdapter | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const request: GPURequestAdapterOptions = { powerPreference: options.powerPreference ?? 'high-performance' };
  if (gpu) return gpu.requestAdapter(request);
  const { requestNodeAdapter } = await import('./nodeGpu.ts');
  return requestNodeAdapter(request, options.nodeFlags ?? []);
}

export async function openDevice(options: DeviceOptions = {}): Promise<OpenedDevice> {
  const adapter = await requestAdapter(options);
  if (!adapter) throw new GpuError(NO_ADAPTER);
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = (['timestamp-query'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const isSoftware = info.architecture === 'swiftshader' || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  options.log?.(`webgpu: ${info.vendor || '?'} ${info.architecture || ''} ${info.description || info.device || ''}${isSoftware ? ' (software)' : ''}`.replace(/\s+/g, ' '));
  return { device, adapterInfo: info, isSoftware, lost: device.lost };
}
