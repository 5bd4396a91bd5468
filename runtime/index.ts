// The engine's public surface: open a backend, make tensors, run ops, step optimizers.
import type { Backend } from './backend.ts';
import { openDevice, type DeviceOptions } from './device.ts';
import { GpuError } from './errors.ts';
import { WebGpuBackend } from './webgpuBackend.ts';
import type { KernelPolicy } from './kernelVariants.ts';
import { createWasmBackend, type WasmBackendOptions } from './wasm/backend.ts';

export type { Backend, Capacity, Storage, KernelCall, MemoryStats } from './backend.ts';
export { Tensor, sizeOf, type Shape } from './tensor.ts';
export { Tape } from './tape.ts';
export { DeviceLostError, GpuError, ShapeError } from './errors.ts';
export { listAdapters, openDevice, type DeviceOptions, type OpenedDevice } from './device.ts';
export { adapterName, chooseAdapter, type AdapterSummary, type FeatureLevel } from './adapters.ts';
export { KERNEL_POLICIES, type KernelPolicy } from './kernelVariants.ts';
export type { Autotuner, ChoiceStore, TunedKernel } from './autotune.ts';
export type { KernelTime, ProfileMethod } from './profiler.ts';
export * from './ops/elementwise.ts';
export * from './ops/matmul.ts';
export * from './ops/reduce.ts';
export * from './ops/softmax.ts';
export * from './ops/crossEntropy.ts';
export * from './ops/linear.ts';
export * from './ops/batchNorm.ts';
export * from './ops/pool.ts';
export * from './ops/layout.ts';
export * from './ops/conv2d.ts';
export * from './ops/slice.ts';
export * from './ops/dropPath.ts';
export * from './ops/recompute.ts';
export { Sgd, type SgdOptions } from './optim/sgd.ts';
export { Adam, type AdamOptions } from './optim/adam.ts';
export { clipGradNorm } from './optim/clip.ts';
export { Optimizer, type SavedOptimizerState } from './optim/optimizer.ts';
export { WebGpuBackend } from './webgpuBackend.ts';
export { WasmBackend, createWasmBackend, type WasmBackendOptions } from './wasm/backend.ts';

export interface WebGpuOptions extends DeviceOptions {
  /** Which kernel variants run (KernelPolicy); default plain, the CLI's and the page's auto. */
  kernels?: KernelPolicy;
}

export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const backend = new WebGpuBackend(await openDevice(options));
  await backend.useKernels(options.kernels ?? 'plain');
  return backend;
}

export interface BackendOptions extends WebGpuOptions, WasmBackendOptions {
  /**
   * 'auto': WebGPU on a real GPU, WebAssembly when the only adapters are software ones (SwiftShader,
   * llvmpipe) or there is none; an adapter named in `adapter` is taken as asked, software or not.
   */
  backend?: 'webgpu' | 'wasm' | 'auto';
}

export async function createBackend(options: BackendOptions = {}): Promise<Backend> {
  const named = options.adapter !== undefined && options.adapter !== 'auto';
  if (options.backend === 'wasm') {
    if (named) throw new GpuError(`--adapter ${options.adapter} picks a WebGPU adapter: drop it, or --backend wasm`);
    return createWasmBackend(options);
  }
  if (options.backend !== 'auto' || named) return createWebGpuBackend(options);
  const opened = await openDevice(options).catch(() => null);
  if (opened && !opened.isSoftware) {
    const backend = new WebGpuBackend(opened);
    await backend.useKernels(options.kernels ?? 'plain');
    return backend;
  }
  opened?.device.destroy();
  // Said, so that the adapter line above it does not read as the backend in use.
  options.log?.(opened
    ? 'auto: WebGPU has only a software adapter here, so the WebAssembly backend runs (faster on a CPU; --backend webgpu uses the adapter anyway)'
    : 'auto: no WebGPU adapter, so the WebAssembly backend runs');
  return createWasmBackend(options);
}
