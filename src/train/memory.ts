// Whether a training loop recomputes its cells in the backward (runtime/ops/recompute.ts): a user
// setting, where 'auto' counts a step's peak memory on a backend that computes nothing and
// recomputes only if the step would not fit in what the real backend can hold.
import type { Backend } from '../../runtime/index.ts';

export type RecomputeMode = 'auto' | 'cells' | 'off';
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ['auto', 'cells', 'off'];

export interface MemoryPlan {
  recomputeCells: boolean;
  /** OpMemory.keepInnerFromKernel: the ops keep the inner activations of depthwise kernels at least this wide (Infinity: none). */
  keepInnerFromKernel: number;
  /** The step's peak without recomputation (with the inner activations kept as planned), where 'auto' counted it. */
  needBytes?: number;
  capacityBytes?: number;
}

// What a step may take of the backend's capacity: the rest is for the allocator's rounding and
// fragmentation, the worker stacks and the readbacks.
const USABLE_SHARE = 0.8;

// The kept sets 'auto' tries, most first: every depthwise kernel's inner activation (the search
// space's are 3×3 and 5×5), then only the 5×5 ones (most work per byte to compute again).
const KEEP_INNER_FROM = [3, 5];

/**
 * `countPeak` gives the step's peak bytes without recomputation, each buffer rounded by `sizeClass`,
 * with the inner activations of depthwise kernels at least `keepInnerFromKernel` wide kept. 'auto'
 * keeps the most that still fits (no work done twice), else recomputes cells only where the lean
 * step does not fit either. A backend that does not tell its capacity (WebGPU) is trusted to hold
 * the lean step.
 */
export async function planMemory(
  mode: RecomputeMode, backend: Backend, countPeak: (sizeClass: (bytes: number) => number, keepInnerFromKernel: number) => Promise<number>,
): Promise<MemoryPlan> {
  if (mode !== 'auto' || !backend.capacity) return { recomputeCells: mode === 'cells', keepInnerFromKernel: Infinity };
  const { bytes, sizeClass } = backend.capacity;
  const usable = USABLE_SHARE * bytes;
  for (const from of KEEP_INNER_FROM) {
    const keeping = await countPeak(sizeClass, from);
    if (keeping <= usable) return { recomputeCells: false, keepInnerFromKernel: from, needBytes: keeping, capacityBytes: bytes };
  }
  const needBytes = await countPeak(sizeClass, Infinity);
  return { recomputeCells: needBytes > usable, keepInnerFromKernel: Infinity, needBytes, capacityBytes: bytes };
}

export function describePlan(plan: MemoryPlan): string | null {
  if (plan.needBytes === undefined) return null;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const k = plan.keepInnerFromKernel;
  return `memory: a step needs ${gib(plan.needBytes)} of the backend's ${gib(plan.capacityBytes!)}` +
    (plan.recomputeCells ? '; recomputing cells in the backward to fit (--recompute off to refuse)' : '') +
    (!plan.recomputeCells && k > KEEP_INNER_FROM[0]!
      ? `; the depthwise outputs of ${k === Infinity ? 'every kernel' : `kernels narrower than ${k}×${k}`} are computed again in the backward to fit`
      : '');
}

/** An out-of-memory error from either backend, with what the user can change; other errors as they are. */
export function withMemoryHint(error: unknown, recomputeCells: boolean): unknown {
  if (!(error instanceof Error) || !/out of memory/i.test(error.message)) return error;
  const fix = recomputeCells
    ? 'lower --batch-size'
    : 'pass --recompute cells (about a third more work for a fraction of the memory) or lower --batch-size';
  return Object.assign(new Error(`${error.message}; ${fix}`), { name: error.name });
}
