// Whether a training loop recomputes its cells in the backward (runtime/ops/recompute.ts): a user
// setting, where 'auto' counts a step's peak memory on a backend that computes nothing and
// recomputes only if the step would not fit in what the real backend can hold.
import type { Backend } from '../../runtime/index.ts';

export type RecomputeMode = 'auto' | 'cells' | 'off';
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ['auto', 'cells', 'off'];

export interface MemoryPlan {
  recomputeCells: boolean;
  /** Whether the ops keep their inner activations too (OpMemory), where the step fits with them. */
  keepPairInner: boolean;
  /** The step's peak without recomputation (with the inner activations where they are kept), where 'auto' counted it. */
  needBytes?: number;
  capacityBytes?: number;
}

// What a step may take of the backend's capacity: the rest is for the allocator's rounding and
// fragmentation, the worker stacks and the readbacks.
const USABLE_SHARE = 0.8;

/**
 * `countPeak` gives the step's peak bytes without recomputation, each buffer rounded by `sizeClass`,
 * with or without the ops' inner activations kept. 'auto' keeps them where the step still fits (no
 * work is done twice), else recomputes cells only where the lean step does not fit either. A backend
 * that does not tell its capacity (WebGPU) is trusted to hold the lean step.
 */
export async function planMemory(
  mode: RecomputeMode, backend: Backend, countPeak: (sizeClass: (bytes: number) => number, keepPairInner: boolean) => Promise<number>,
): Promise<MemoryPlan> {
  if (mode !== 'auto' || !backend.capacity) return { recomputeCells: mode === 'cells', keepPairInner: false };
  const { bytes, sizeClass } = backend.capacity;
  const usable = USABLE_SHARE * bytes;
  const keeping = await countPeak(sizeClass, true);
  if (keeping <= usable) return { recomputeCells: false, keepPairInner: true, needBytes: keeping, capacityBytes: bytes };
  const needBytes = await countPeak(sizeClass, false);
  return { recomputeCells: needBytes > usable, keepPairInner: false, needBytes, capacityBytes: bytes };
}

export function describePlan(plan: MemoryPlan): string | null {
  if (plan.needBytes === undefined) return null;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return `memory: a step needs ${gib(plan.needBytes)} of the backend's ${gib(plan.capacityBytes!)}` +
    (plan.recomputeCells ? '; recomputing cells in the backward to fit (--recompute off to refuse)' : '');
}

/** An out-of-memory error from either backend, with what the user can change; other errors as they are. */
export function withMemoryHint(error: unknown, recomputeCells: boolean): unknown {
  if (!(error instanceof Error) || !/out of memory/i.test(error.message)) return error;
  const fix = recomputeCells
    ? 'lower --batch-size'
    : 'pass --recompute cells (about a third more work for a fraction of the memory) or lower --batch-size';
  return Object.assign(new Error(`${error.message}; ${fix}`), { name: error.name });
}
