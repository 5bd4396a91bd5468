// Whether a training loop recomputes its cells in the backward (runtime/ops/recompute.ts): a user
// setting, where 'auto' counts a step's peak memory on a backend that computes nothing and
// recomputes only if the step would not fit in what the real backend can hold.
import type { Backend } from '../../runtime/index.ts';

export type RecomputeMode = 'auto' | 'cells' | 'off';
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ['auto', 'cells', 'off'];

export interface MemoryPlan {
  recomputeCells: boolean;
  /** The step's peak without recomputation, where 'auto' counted it. */
  needBytes?: number;
  capacityBytes?: number;
}

// What a step may take of the backend's capacity: the rest is for the allocator's rounding and
// fragmentation, the worker stacks and the readbacks.
const USABLE_SHARE = 0.8;

/**
 * `countPeak` gives the step's peak bytes without recomputation, each buffer rounded by `sizeClass`.
 * A backend that does not tell its capacity (WebGPU) is trusted to hold the step.
 */
export async function planMemory(
  mode: RecomputeMode, backend: Backend, countPeak: (sizeClass: (bytes: number) => number) => Promise<number>,
): Promise<MemoryPlan> {
  if (mode !== 'auto' || !backend.capacity) return { recomputeCells: mode === 'cells' };
  const { bytes, sizeClass } = backend.capacity;
  const needBytes = await countPeak(sizeClass);
  return { recomputeCells: needBytes > USABLE_SHARE * bytes, needBytes, capacityBytes: bytes };
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
