// Where a whole search step's time goes on the wasm backend: every kernel launch timed around its
// call (wasm kernels run synchronously, so the clock holds the kernel and nothing else), summed per
// kernel and per kernel with its shape; what the part took beyond its kernels is the TypeScript
// side (tape, ops, dispatch, allocation). The best of `reps` runs of each part counts.
import type { Backend, KernelCall } from '../runtime/index.ts';

export interface KernelTime {
  key: string;
  ms: number;
  calls: number;
  flops: number;
}

export interface PartProfile {
  /** The part's wall time in its best run. */
  ms: number;
  /** Per kernel (family/entry), slowest first. */
  kernels: KernelTime[];
  /** Per kernel and shape, slowest first. */
  shapes: KernelTime[];
}

const CONV = /^conv\//;

/** A launch's kernel with the shape that sets its cost, in words a reader of the C sources follows. */
export function shapeKey(call: KernelCall): string {
  const u = call.u ?? [];
  if (CONV.test(call.kernel)) {
    const [n, ci, co, , h, w, , , kh, kw, stride, dil] = u;
    const relu = u[16] ? ' relu' : '';
    return `${call.kernel} ${kh}×${kw} s${stride} d${dil} ${ci}→${co} ${h}×${w} n${n}${relu}`;
  }
  if (call.kernel === 'matmul/gemm') {
    const [M, N, KI, KO] = u;
    return `${call.kernel} M${M} N${N} K${KI}×${KO} batch${call.threads[2] ?? 1}`;
  }
  return `${call.kernel} ${u.slice(0, 4).join(',')}`;
}

/** Times every launch on `backend` while `body` runs; returns the totals and restores the backend. */
export async function profileLaunches(backend: Backend, body: () => Promise<void>): Promise<{ ms: number; byKernel: Map<string, KernelTime>; byShape: Map<string, KernelTime> }> {
  const byKernel = new Map<string, KernelTime>();
  const byShape = new Map<string, KernelTime>();
  const add = (map: Map<string, KernelTime>, key: string, ms: number, flops: number) => {
    const entry = map.get(key) ?? { key, ms: 0, calls: 0, flops: 0 };
    entry.ms += ms;
    entry.calls++;
    entry.flops += flops;
    map.set(key, entry);
  };
  const run = backend.run;
  backend.run = (call: KernelCall) => {
    const start = performance.now();
    run.call(backend, call);
    const ms = performance.now() - start;
    add(byKernel, call.kernel, ms, call.flops ?? 0);
    add(byShape, shapeKey(call), ms, call.flops ?? 0);
  };
  const start = performance.now();
  try {
    await body();
  } finally {
    backend.run = run;
  }
  return { ms: performance.now() - start, byKernel, byShape };
}

const slowestFirst = (m: Map<string, KernelTime>) => [...m.values()].sort((a, b) => b.ms - a.ms);

/** Runs `part` once to warm up, then `reps` times profiled; the fastest run's profile. */
export async function profilePart(backend: Backend, part: () => Promise<void>, reps: number): Promise<PartProfile> {
  await part();
  let best: PartProfile | null = null;
  for (let r = 0; r < reps; r++) {
    const p = await profileLaunches(backend, part);
    if (!best || p.ms < best.ms) best = { ms: p.ms, kernels: slowestFirst(p.byKernel), shapes: slowestFirst(p.byShape) };
  }
  return best!;
}

/** The profile as lines: each kernel's share, then the `top` slowest kernel shapes. */
export function formatProfile(name: string, p: PartProfile, top: number): string[] {
  const kernelMs = p.kernels.reduce((s, k) => s + k.ms, 0);
  const line = (k: KernelTime) => {
    const gflops = k.flops ? (k.flops / k.ms / 1e6).toFixed(1).padStart(6) : '     -';
    return `${k.ms.toFixed(1).padStart(8)} ms ${((100 * k.ms) / p.ms).toFixed(1).padStart(5)}% ${String(k.calls).padStart(6)} calls ${gflops} GFLOP/s  ${k.key}`;
  };
  return [
    `${name}: ${p.ms.toFixed(1)} ms, kernels ${kernelMs.toFixed(1)} ms, outside kernels (TypeScript: tape, ops, dispatch) ${(p.ms - kernelMs).toFixed(1)} ms`,
    ...p.kernels.map(line),
    `  slowest ${top} kernel shapes:`,
    ...p.shapes.slice(0, top).map(line),
  ];
}
