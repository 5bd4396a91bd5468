/** A WebGPU failure: no adapter, a WGSL compile error, a validation error or a lost device. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** The GPU device went away mid-work (driver reset, GPU removed, another device.destroy()): what was on it is gone. */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}

/** An op was called with inputs it cannot take (wrong shape, rank, dtype or state). */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function checkShape(op: string, cond: boolean, detail: () => string): void {
  if (!cond) throw new ShapeError(`${op}: ${detail()}`);
}
