// The engine Worker's backend, as ?backend=auto|webgpu|wasm asks: WebGPU (navigator.gpu is there
// in a dedicated worker), or WebAssembly with its thread pool started from this Worker, so the
// page's main thread never takes part in a kernel. auto: WebGPU on a real GPU, else WebAssembly.
// WebGPU runs the autotuned kernels on a real GPU (choices kept in IndexedDB), the plain ones on a
// software adapter (KernelPolicy 'auto').
import { createWasmBackend, createWebGpuBackend, WebGpuBackend, type Backend } from '../../runtime/index.ts';
import { openDevice, type OpenedDevice } from '../../runtime/device.ts';
import type { BackendChoice } from './protocol.ts';

export interface EngineBackend {
  backend: Backend;
  /** What the engine runs on, as the page's header shows it. */
  label: string;
  /** Why auto did not take WebGPU; empty when it did or was not asked to. */
  note: string;
}

/** Why this context cannot have WebGPU, before asking for an adapter; null if it may. */
function webGpuProblem(): string | null {
  if (!isSecureContext) return `This page is not a secure context (${location.origin}), and browsers only offer WebGPU in one.`;
  if (!navigator.gpu) return 'This browser does not offer WebGPU (navigator.gpu is missing).';
  return null;
}

function webGpuLabel(opened: OpenedDevice): string {
  const info = opened.adapterInfo;
  return `WebGPU: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${opened.isSoftware ? ' (software)' : ''}`;
}

async function openWasm(note: string): Promise<EngineBackend> {
  const backend = await createWasmBackend();
  const threads = backend.threads;
  const isolation = crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated, so one thread';
  return { backend, label: `WebAssembly: ${threads} thread${threads > 1 ? 's' : ''}, ${backend.build} (${isolation})`, note };
}

export async function openEngineBackend(choice: BackendChoice): Promise<EngineBackend> {
  if (choice === 'wasm') return openWasm('');
  const problem = webGpuProblem();
  if (choice === 'webgpu') {
    if (problem) throw new Error(problem);
    if (!(await navigator.gpu.requestAdapter())) throw new Error('WebGPU is there but offered no adapter: it is disabled, or blocklisted for this GPU.');
    const backend = await createWebGpuBackend({ kernels: 'auto' });
    return { backend, label: webGpuLabel(backend.opened), note: '' };
  }
  if (problem) return openWasm(`${problem} Running on WebAssembly instead.`);
  const opened = await openDevice().catch(() => null);
  if (opened && !opened.isSoftware) {
    const backend = new WebGpuBackend(opened);
    await backend.useKernels('auto');
    return { backend, label: webGpuLabel(opened), note: '' };
  }
  opened?.device.destroy();
  return openWasm(opened
    ? `WebGPU offers only a software adapter (${webGpuLabel(opened).slice(8)}); WebAssembly is faster on this CPU. Choose WebGPU above to use it anyway.`
    : 'WebGPU offered no adapter here. Running on WebAssembly instead.');
}
