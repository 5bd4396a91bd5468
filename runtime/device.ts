// One place that turns "whatever WebGPU this JS runtime has" into a ready GPUDevice on the adapter asked for.
import { adapterName, chooseAdapter, sameAdapter, summarize, type AdapterSummary, type FeatureLevel, type FoundAdapter, RELIED_ON_LIMITS } from './adapters.ts';
import { GpuError } from './errors.ts';

export interface DeviceOptions {
  /** `--adapter INDEX|TEXT` as `sgas adapters` lists them, or 'auto' (the default): a real GPU first, full WebGPU before compatibility mode. */
  adapter?: string;
  /** 'compatibility' runs even a core-capable adapter in WebGPU compatibility mode, as GL-only devices run. */
  featureLevel?: FeatureLevel;
  /**
   * 'adapter' (the default) raises every limit the runtime relies on to what the adapter offers;
   * 'default' keeps the spec's defaults for the feature level, the least any such device has.
   */
  limits?: 'adapter' | 'default';
  log?: (line: string) => void;
}

export interface OpenedDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
  adapterInfo: GPUAdapterInfo;
  isSoftware: boolean;
  featureLevel: FeatureLevel;
  /** Resolves when the device is lost. */
  lost: Promise<GPUDeviceLostInfo>;
  /** What it was opened with: a lost device is replaced by one like it on the same adapter. */
  options: DeviceOptions;
}

const NO_ADAPTER =
  'no WebGPU adapter found: on Linux without a GPU install Debian\'s chromium package (it ships SwiftShader: apt-get install chromium) ' +
  'or Mesa\'s OpenGL ES (libegl-mesa0, libgl1-mesa-dri), or set VK_ICD_FILENAMES to a Vulkan driver; in a browser enable WebGPU (Chrome 113+, or --enable-unsafe-webgpu headless)';

function navigatorGpu(): GPU | undefined {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

/** A page asks navigator.gpu once per kind of request and keeps the different adapters it is given. */
async function listPageAdapters(gpu: GPU): Promise<FoundAdapter[]> {
  const requests: GPURequestAdapterOptions[] = [
    { powerPreference: 'high-performance' }, { powerPreference: 'low-power' }, { forceFallbackAdapter: true },
    { featureLevel: 'compatibility' } as GPURequestAdapterOptions,
  ];
  const found: FoundAdapter[] = [];
  for (const request of requests) {
    const again = () => gpu.requestAdapter(request).catch(() => null);
    const adapter = await again();
    if (!adapter) continue;
    const summary = summarize(adapter, found.length, 'browser', '', again);
    if (!found.some((a) => sameAdapter(a, summary))) found.push(summary);
  }
  return found;
}

async function findAdapters(): Promise<FoundAdapter[]> {
  const gpu = navigatorGpu();
  if (gpu) return listPageAdapters(gpu);
  const { listNodeAdapters } = await import('./nodeGpu.ts');
  return listNodeAdapters();
}

/** Every adapter this JS runtime reaches, numbered as `--adapter INDEX` takes them. */
export async function listAdapters(): Promise<AdapterSummary[]> {
  return (await findAdapters()).map(({ fresh: _, ...summary }) => summary);
}

export async function openDevice(options: DeviceOptions = {}): Promise<OpenedDevice> {
  const adapters = await findAdapters();
  if (!adapters.length) throw new GpuError(NO_ADAPTER);
  const { fresh, ...summary } = chooseAdapter(adapters, options.adapter);
  const adapter = await fresh();
  if (!adapter) throw new GpuError(`${adapterName(summary)} is no longer offered`);
  const featureLevel: FeatureLevel = options.featureLevel === 'compatibility' ? 'compatibility' : summary.featureLevel;
  const requiredFeatures = (['timestamp-query', ...(featureLevel === 'core' ? ['core-features-and-limits'] : [])] as GPUFeatureName[])
    .filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  if (options.limits !== 'default') for (const name of RELIED_ON_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  options.log?.(`webgpu: adapter ${summary.index}, ${adapterName({ ...summary, featureLevel })}`);
  return { device, adapter: summary, adapterInfo: adapter.info, isSoftware: summary.type === 'cpu', featureLevel, lost: device.lost, options };
}

/** A new device on the adapter an earlier one was opened on (that one lost), found again by name. */
export async function reopenDevice(previous: OpenedDevice): Promise<OpenedDevice> {
  const again = (await findAdapters()).find((a) => sameAdapter(a, previous.adapter));
  if (!again) throw new GpuError(`the adapter of the lost device (${adapterName(previous.adapter)}) is gone`);
  return openDevice({ ...previous.options, adapter: String(again.index) });
}
