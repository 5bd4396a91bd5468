// Float64 tensors for the CPU reference: a shape and its row-major (C-order) data, nothing more.

export type T64 = { shape: number[]; data: Float64Array };

/** A tensor as stored in the golden JSON files (`test/golden/README.md`). */
export type GoldenTensor = { shape: number[]; data: number[] };

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const zeros = (shape: readonly number[]): T64 => ({ shape: [...shape], data: new Float64Array(numel(shape)) });

export const clone = (t: T64): T64 => ({ shape: [...t.shape], data: Float64Array.from(t.data) });

export const scalar = (v: number): T64 => ({ shape: [], data: Float64Array.of(v) });

export function fromGolden(g: GoldenTensor): T64 {
  if (g.data.length !== numel(g.shape)) throw new Error(`golden tensor: ${g.data.length} values for shape [${g.shape}]`);
  return { shape: [...g.shape], data: Float64Array.from(g.data) };
}

/** Deterministic 32-bit generator (mulberry32), enough for test data. */
export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard-normal entries times `scale` (Box–Muller on `rng`). */
export function random(shape: readonly number[], rng: Rng, scale = 1): T64 {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) {
    const u = 1 - rng(), v = rng();
    t.data[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return t;
}

/** Σ a⊙b over all elements (shapes must hold the same number of values). */
export function dot(a: T64, b: T64): number {
  if (a.data.length !== b.data.length) throw new Error(`dot: [${a.shape}] vs [${b.shape}]`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

/**
 * Worst element of |a − ref| / (atol + rtol·|ref|): ≤ 1 means every element is within tolerance.
 * Shapes must match exactly; NaN anywhere gives NaN (so it fails a `<= 1` check).
 */
export function worstRatio(a: T64, ref: T64, atol: number, rtol: number): number {
  if (a.shape.join() !== ref.shape.join()) throw new Error(`shape [${a.shape}] vs reference [${ref.shape}]`);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    const r = Math.abs(a.data[i] - ref.data[i]) / (atol + rtol * Math.abs(ref.data[i]));
    if (Number.isNaN(r)) return NaN;
    if (r > worst) worst = r;
  }
  return worst;
}

/** max |a − ref| over all elements (shapes must match). */
export function maxAbsDiff(a: T64, ref: T64): number {
  if (a.shape.join() !== ref.shape.join()) throw new Error(`shape [${a.shape}] vs reference [${ref.shape}]`);
  return a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - ref.data[i])), 0);
}

export const maxAbs = (t: T64): number => t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
