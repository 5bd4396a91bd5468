/** A WebGPU failure: no adapter, a WGSL compile error, a validation error or a lost device. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** An op was called with inputs it cannot take (wrong shape, rank, dtype or state). */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function checkShape(op: string, cond: boolean, detail: () => string): void {
  if (!cond) throw new ShapeError(`${op}: ${detail()}`);
}
