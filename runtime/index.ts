// The engine's public surface: open a backend, make tensors, run ops, step optimizers.
import type { Backend } from './backend.ts';
import { openDevice, type DeviceOptions } from './device.ts';
import { WebGpuBackend } from './webgpuBackend.ts';
import { createWasmBackend, type WasmBackendOptions } from './wasm/backend.ts';

export type { Backend, Capacity, Storage, KernelCall, MemoryStats } from './backend.ts';
export { Tensor, sizeOf, type Shape } from './tensor.ts';
export { Tape } from './tape.ts';
export { GpuError, ShapeError } from './errors.ts';
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

export async function createWebGpuBackend(options: DeviceOptions = {}): Promise<WebGpuBackend> {
  return new WebGpuBackend(await openDevice(options));
}

export interface BackendOptions extends DeviceOptions, WasmBackendOptions {
  /** 'auto': WebGPU on a real GPU, WebAssembly when the only adapter is a software one (SwiftShader) or none. */
  backend?: 'webgpu' | 'wasm' | 'auto';
}

export async function createBackend(options: BackendOptions = {}): Promise<Backend> {
  if (options.backend === 'wasm') return createWasmBackend(options);
  if (options.backend !== 'auto') return createWebGpuBackend(options);
  const opened = await openDevice(options).catch(() => null);
  if (opened && !opened.isSoftware) return new WebGpuBackend(opened);
  opened?.device.destroy();
  return createWasmBackend(options);
}
