// --profile: each kernel's device time in the training steps of a run (validation and checkpoints
// left out), its share of a step, and the dispatches and submits a step takes; `npm run bench --
// --profile` prints the same table for its search step and ops.
import type { Backend, KernelTime, ProfileMethod, WebGpuBackend } from '../../runtime/index.ts';

export interface StepProfile {
  method: ProfileMethod;
  steps: number;
  /** Device milliseconds of all kernels in one step. */
  stepMs: number;
  dispatchesPerStep: number;
  submitsPerStep: number;
  kernels: { kernel: string; callsPerStep: number; msPerStep: number; share: number }[];
}

const isWebGpu = (backend: Backend): backend is WebGpuBackend => 'startProfiling' in backend;

/** Profiles the steps between start() (or an epoch's end) and each epoch's last step. */
export class StepProfiler {
  private readonly times = new Map<string, { calls: number; ms: number }>();
  private method: ProfileMethod = 'cpu';
  private steps = 0;
  private dispatches = 0;
  private submits = 0;
  private counted: { dispatches: number; submits: number } | null = null;

  constructor(private backend: Backend) {}

  /** Whether there is anything to profile: WebGPU kernels (the WebAssembly backend has no device timing). */
  get active(): boolean {
    return isWebGpu(this.backend);
  }

  start(): void {
    if (!isWebGpu(this.backend) || this.counted) return;
    this.method = this.backend.startProfiling();
    this.counted = { dispatches: this.backend.dispatches, submits: this.backend.submits };
  }

  /** After each step; an epoch's last one ends the profiled stretch until the next epoch. */
  async step(step: number, steps: number): Promise<void> {
    this.steps++;
    if (step === steps) await this.pause();
  }

  /** A backend opened in place of a lost one: what the lost one measured of the unfinished stretch is gone. */
  switchTo(backend: Backend): void {
    this.counted = null;
    this.backend = backend;
  }

  async pause(): Promise<void> {
    if (!isWebGpu(this.backend) || !this.counted) return;
    for (const t of await this.backend.stopProfiling()) {
      const sum = this.times.get(t.kernel) ?? { calls: 0, ms: 0 };
      sum.calls += t.calls;
      sum.ms += t.ms;
      this.times.set(t.kernel, sum);
    }
    this.dispatches += this.backend.dispatches - this.counted.dispatches;
    this.submits += this.backend.submits - this.counted.submits;
    this.counted = null;
  }

  async report(): Promise<StepProfile> {
    await this.pause();
    return stepProfile(this.method, this.steps, [...this.times].map(([kernel, t]) => ({ kernel, ...t })), this.dispatches, this.submits);
  }
}

export function stepProfile(method: ProfileMethod, steps: number, times: KernelTime[], dispatches: number, submits: number): StepProfile {
  const per = Math.max(1, steps);
  const total = times.reduce((s, t) => s + t.ms, 0);
  return {
    method, steps, stepMs: total / per, dispatchesPerStep: dispatches / per, submitsPerStep: submits / per,
    kernels: [...times].sort((a, b) => b.ms - a.ms).map((t) => ({ kernel: t.kernel, callsPerStep: t.calls / per, msPerStep: t.ms / per, share: total ? t.ms / total : 0 })),
  };
}

/** The table --profile prints: the kernels taking most of a step first, the small rest summed. */
export function profileTable(p: StepProfile, top = 20): string {
  const how = p.method === 'timestamp-query' ? 'timestamp queries' : 'no timestamp-query: each kernel shape timed alone on the CPU, submit to done';
  const lines = [
    `profile: ${p.steps} step${p.steps === 1 ? '' : 's'}, ${p.stepMs.toFixed(2)} ms of kernels a step (${how}); ` +
      `${p.dispatchesPerStep.toFixed(0)} dispatches and ${p.submitsPerStep.toFixed(1)} submits a step`,
    `  ${'kernel'.padEnd(36)} ${'calls/step'.padStart(10)} ${'ms/step'.padStart(9)} ${'share'.padStart(6)}`,
  ];
  for (const k of p.kernels.slice(0, top)) {
    lines.push(`  ${k.kernel.padEnd(36)} ${k.callsPerStep.toFixed(1).padStart(10)} ${k.msPerStep.toFixed(3).padStart(9)} ${(100 * k.share).toFixed(1).padStart(5)}%`);
  }
  const rest = p.kernels.slice(top);
  if (rest.length) {
    const ms = rest.reduce((s, k) => s + k.msPerStep, 0);
    lines.push(`  ${`(${rest.length} more)`.padEnd(36)} ${''.padStart(10)} ${ms.toFixed(3).padStart(9)} ${(100 * rest.reduce((s, k) => s + k.share, 0)).toFixed(1).padStart(5)}%`);
  }
  return lines.join('\n');
}
