// One whole search step of the full search network (all 14 edges of every cell mixed), timed in its
// parts as Search.trainEpoch runs them: the Architect's first-order step (forward + backward to the
// alphas on a validation batch, Adam), then the weight step (forward + backward to the weights,
// gradient clipping, SGD with momentum and weight decay, the loss, logits and norm read back). The
// forward alone (training mode, nothing recorded, logits read back) is timed too. A peer (PyTorch)
// runs the same parts in alternation with ours; each part's floating-point work is counted once on
// a backend that runs no kernels.
import { createWasmBackend, createWebGpuBackend, Sgd, Tape, Tensor, type Backend, type MemoryStats, type WebGpuBackend } from '../runtime/index.ts';
import { CountingBackend } from '../runtime/countingBackend.ts';
import { stepProfile, type StepProfile } from '../src/cli/profile.ts';
import { Rng } from '../runtime/rng.ts';
import { Heap } from '../runtime/wasm/heap.ts';
import { Architect, type LabelledBatch } from '../src/search/architect.ts';
import { learningRateAt, presetConfig, type SearchConfig } from '../src/search/config.ts';
import { Network } from '../src/search/model.ts';
import { planSearchMemory, searchStepPeakBytes, weightStep } from '../src/search/step.ts';
import type { MemoryPlan } from '../src/train/memory.ts';
import { profilePart, type PartProfile } from './kernelProfile.ts';

export type Part = 'forward' | 'weightStep' | 'architectStep';
export const PARTS: Part[] = ['forward', 'weightStep', 'architectStep'];

export interface SearchSetting {
  key: string;
  label: string;
  /** The preset whose hyperparameters (learning rates, momentum, clipping, decays) the step uses. */
  preset: string;
  C: number;
  layers: number;
  channels: number;
  side: number;
  batch: number;
}

export const SEARCH_SETTINGS: SearchSetting[] = [
  { key: 'fmnist', label: 'Fashion-MNIST C=8 5 cells 28×28×1 b32', preset: 'cpu', C: 8, layers: 5, channels: 1, side: 28, batch: 32 },
  { key: 'cifar16', label: 'CIFAR C=16 8 cells 32×32×3 b16', preset: 'sgas-cifar10', C: 16, layers: 8, channels: 3, side: 32, batch: 16 },
  { key: 'cifar64', label: 'CIFAR C=16 8 cells 32×32×3 b64', preset: 'sgas-cifar10', C: 16, layers: 8, channels: 3, side: 32, batch: 64 },
];

/** Timings of one side: milliseconds, the minimum over the timed runs, and every run; null: failed. */
export interface PartTimes {
  ms: Record<Part, number | null>;
  /** Architect step + weight step, the best round. */
  stepMs: number | null;
  samples: Record<Part, number[]>;
  /** Why a part has no time: the error it raised in its warm-up run (out of memory, most likely). */
  na?: string;
}

/** The same step run elsewhere (PyTorch): each call runs one part and answers its milliseconds. */
export interface StepPeer {
  run(part: Part): Promise<number>;
  release(): Promise<void>;
}

export interface SearchStepResult {
  setting: string;
  label: string;
  backend: 'wasm' | 'webgpu';
  /** Worker threads of the wasm backend, the caller's included, and its kernels' instruction set. */
  threads?: number;
  build?: string;
  ours: PartTimes;
  peer?: PartTimes;
  /**
   * Floating-point operations of each part, counted with nothing computed twice (no recomputed
   * cells, conv2dPair keeping its depthwise outputs): recomputation adds work, not useful work.
   */
  flops: Record<Part, number>;
  /** Live and pooled bytes after the runs: their sum is the backend's high-water mark (nothing is returned). */
  memory: MemoryStats | null;
  /** The most bytes live at once during the runs, above what the backend held before (wasm: its worker stacks). */
  peakLiveBytes: number;
  /** The most bytes live at once that a step needs without recomputing cells, counted on a backend that computes nothing, in wasm heap size classes. */
  neededBytes: number;
  /** Whether the step recomputed cells, as a search with recompute 'auto' does where neededBytes would not fit. */
  recomputeCells: boolean;
  /** Why the step could not be set up at all. */
  na?: string;
  /** Kernel calls (WebGPU dispatches) in one search step (Architect + weight step). */
  dispatchesPerStep: number | null;
  /** WebGPU: queue submits in one search step (null on wasm, which has none). */
  submitsPerStep: number | null;
  /** --profile (WebGPU): each kernel's time in one search step. */
  profile?: StepProfile;
  /** --search-processes above 1: each process's step (a+w) on both sides and the GEMM peak each side reached there. */
  processes?: ProcessFigures[];
}

export interface ProcessFigures {
  oursStepMs: number | null;
  peerStepMs?: number | null;
  oursGflops: number;
  torchGflops?: number;
}

type Destroyable = Backend & { destroy?(): void; threads?: number; build?: string };

function batch(backend: Backend, rng: Rng, s: SearchSetting): LabelledBatch {
  // Values do not change the work: every kernel is dense and branch-free on the data.
  const x = Float32Array.from({ length: s.batch * s.channels * s.side * s.side }, () => rng.normal());
  const y = Float32Array.from({ length: s.batch }, () => rng.int(10));
  return Tape.outside(() => ({ x: Tensor.from(backend, x, [s.batch, s.channels, s.side, s.side]), y: Tensor.from(backend, y, [s.batch]) }));
}

const settingConfig = (s: SearchSetting): SearchConfig => ({ ...presetConfig(s.preset), initChannels: s.C, layers: s.layers, batchSize: s.batch, seed: 1 });

const stepShape = (s: SearchSetting, config: SearchConfig) => ({
  network: { C: s.C, layers: s.layers, classes: 10, inputChannels: s.channels, stemMultiplier: config.stemMultiplier }, side: s.side, batchSize: s.batch,
});

/** The three parts of a search step on a fresh network, its optimizers and two batches (added to `owned`); memory as `plan` says. */
function buildStep(backend: Backend, s: SearchSetting, plan: MemoryPlan, owned: { release(): void }[]): Record<Part, () => Promise<void>> {
  const config = settingConfig(s);
  const rng = new Rng(config.seed);
  const net = new Network(backend, stepShape(s, config).network, rng);
  net.recomputeCells = plan.recomputeCells;
  net.memory.keepInnerFromKernel = plan.keepInnerFromKernel;
  owned.push(net);
  const sgd = new Sgd(net.parameters(), { lr: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay });
  owned.push(sgd);
  const architect = new Architect(net, config);
  owned.push(architect.adam);
  const lr = learningRateAt(config, 0);
  const train = batch(backend, rng, s);
  const valid = batch(backend, rng, s);
  for (const t of [train.x, train.y, valid.x, valid.y]) owned.push(t);
  return {
    forward: async () => {
      net.setRequiresGrad(false, false);
      const tape = new Tape();
      const logits = tape.run(() => Tape.noGrad(() => net.forward(train.x)));
      await logits.read();
      tape.dispose();
    },
    architectStep: async () => {
      await architect.step(valid, train, lr, sgd);
      await backend.sync();
    },
    // Search.trainEpoch's weight step, readbacks included.
    weightStep: async () => {
      await weightStep(net, sgd, train, config.gradClip);
    },
  };
}

/** The hyperparameters a peer needs to take the same step (bench/torch_peer.py's "search" command). */
export function peerStepCommand(s: SearchSetting): Record<string, unknown> {
  const c = settingConfig(s);
  return {
    cmd: 'search', C: s.C, layers: s.layers, channels: s.channels, side: s.side, batch: s.batch,
    hyper: {
      lr: learningRateAt(c, 0), momentum: c.momentum, weightDecay: c.weightDecay, gradClip: c.gradClip,
      archLr: c.archLearningRate, archBetas: c.archBetas, archWeightDecay: c.archWeightDecay,
    },
  };
}

/** Each part's floating-point work, counted on a backend that runs no kernels, with nothing computed twice. */
export async function countStepFlops(s: SearchSetting): Promise<Record<Part, number>> {
  const counter = new CountingBackend();
  const owned: { release(): void }[] = [];
  const run = buildStep(counter, s, { recomputeCells: false, keepInnerFromKernel: 0 }, owned);
  const flops = { forward: 0, weightStep: 0, architectStep: 0 };
  try {
    for (const part of PARTS) {
      const before = counter.flops;
      await run[part]();
      flops[part] = counter.flops - before;
    }
  } finally {
    for (const o of owned.reverse()) o.release();
  }
  return flops;
}

/**
 * Times one side's parts: each warmed up once, then timed `reps` times in alternation; `others`
 * runs right after each of ours (the peer's same part), so both see the same load.
 */
async function timeParts(parts: Part[], reps: number, sides: { run(part: Part): Promise<number>; times: PartTimes }[]): Promise<void> {
  const live = sides.filter((side) => !side.times.na);
  const fail = (side: (typeof sides)[number], part: Part, error: unknown) => {
    side.times.na = `${part}: ${(error as Error).message.split('\n')[0]}`;
    for (const p of parts) side.times.samples[p].length = 0;
  };
  for (const part of parts) {
    for (const side of live) {
      if (side.times.na) continue;
      try {
        await side.run(part);
      } catch (error) {
        fail(side, part, error);
      }
    }
  }
  for (let r = 0; r < reps; r++) {
    for (const part of parts) {
      for (const side of live) {
        if (side.times.na) continue;
        try {
          side.times.samples[part].push(await side.run(part));
        } catch (error) {
          fail(side, part, error);
        }
      }
    }
  }
}

const emptyTimes = (): PartTimes => ({ ms: { forward: null, weightStep: null, architectStep: null }, stepMs: null, samples: { forward: [], weightStep: [], architectStep: [] } });

function summarize(t: PartTimes): void {
  const min = (part: Part) => (t.samples[part].length ? Math.min(...t.samples[part]) : null);
  t.ms = { forward: min('forward'), weightStep: min('weightStep'), architectStep: min('architectStep') };
  const { architectStep: a, weightStep: w } = t.samples;
  if (a.length && a.length === w.length) t.stepMs = Math.min(...a.map((v, i) => v + w[i]!));
}

/**
 * The forward: one warm-up run, then `reps` timed; then the search step: one warm-up Architect step
 * and weight step, then `reps` rounds of both; the peer's same part runs right after each of ours.
 * A fresh wasm backend for each setting, so every heap starts empty; `webgpu` uses the one it is
 * handed (or opens one).
 */
export async function timeSearchStep(
  kind: 'wasm' | 'webgpu', s: SearchSetting, reps: number,
  { shared, wasmThreads, peer, profile = false }: { shared?: Backend; wasmThreads?: number; peer?: StepPeer; profile?: boolean } = {},
): Promise<SearchStepResult> {
  const backend: Destroyable = kind === 'webgpu' ? shared ?? (await createWebGpuBackend()) : await createWasmBackend({ threads: wasmThreads });
  const result: SearchStepResult = {
    setting: s.key, label: s.label, backend: kind, threads: kind === 'wasm' ? backend.threads : undefined, build: backend.build,
    ours: emptyTimes(), peer: peer ? emptyTimes() : undefined, flops: await countStepFlops(s),
    memory: null, peakLiveBytes: 0, neededBytes: 0, recomputeCells: false, dispatchesPerStep: null, submitsPerStep: null,
  };
  const config = settingConfig(s);
  const plan = await planSearchMemory('auto', config, stepShape(s, config), backend);
  result.neededBytes = plan.needBytes ?? (await searchStepPeakBytes(config, { ...stepShape(s, config), recomputeCells: false }, Heap.sizeClass));
  result.recomputeCells = plan.recomputeCells;
  const owned: { release(): void }[] = [];
  // The most bytes live at once, against the high-water mark the allocator reached (live + pooled).
  const before = backend.memory().liveBytes;
  let peak = before;
  const alloc = backend.alloc;
  backend.alloc = (length) => {
    const storage = alloc.call(backend, length);
    peak = Math.max(peak, backend.memory().liveBytes);
    return storage;
  };
  let calls = 0;
  const runKernel = backend.run;
  backend.run = (call) => {
    calls++;
    runKernel.call(backend, call);
  };
  try {
    const run = buildStep(backend, s, plan, owned);
    const sides = [{
      times: result.ours,
      run: async (part: Part) => {
        const start = performance.now();
        await run[part]();
        return performance.now() - start;
      },
    }];
    if (peer) sides.push({ times: result.peer!, run: (part) => peer.run(part) });
    // The forward first, alone: it needs the least memory, so it is timed even where the steps do not
    // fit (a step that runs out of memory leaves its tape's tensors allocated). Then both steps, warmed
    // up and timed in alternation, as the search runs them.
    await timeParts(['forward'], reps, sides);
    const forwardFailed = sides.map((side) => side.times.na);
    for (const side of sides) delete side.times.na;
    await timeParts(['architectStep', 'weightStep'], reps, sides);
    sides.forEach((side, i) => {
      const why = [forwardFailed[i], side.times.na].filter(Boolean).join('; ');
      if (why) side.times.na = why;
      summarize(side.times);
    });
    if (result.ours.stepMs !== null) {
      // One more step, counted (and profiled, if asked): what a search step sends to the device.
      const webgpu = 'submits' in backend ? (backend as WebGpuBackend) : null;
      const [callsBefore, submitsBefore] = [calls, webgpu?.submits ?? 0];
      const method = profile ? webgpu?.startProfiling() : undefined;
      await run.architectStep();
      await run.weightStep();
      result.dispatchesPerStep = calls - callsBefore;
      if (webgpu) result.submitsPerStep = webgpu.submits - submitsBefore;
      if (method) result.profile = stepProfile(method, 1, await webgpu!.stopProfiling(), result.dispatchesPerStep, result.submitsPerStep!);
    }
  } catch (error) {
    result.na = (error as Error).message.split('\n')[0];
  } finally {
    result.memory = backend.memory();
    result.peakLiveBytes = peak - before;
    backend.alloc = alloc;
    backend.run = runKernel;
    for (const o of owned.reverse()) {
      try {
        o.release();
      } catch {
        // A backend that ran out of memory may refuse more work; the numbers are already taken.
      }
    }
    if (backend !== shared) backend.destroy?.();
    await peer?.release();
  }
  return result;
}

/** Times of one side over several processes: every sample, each part's best, the best process's step. */
function bestOf(times: PartTimes[]): PartTimes {
  const best = emptyTimes();
  for (const part of PARTS) best.samples[part] = times.flatMap((t) => t.samples[part]);
  summarize(best);
  const steps = times.map((t) => t.stepMs).filter((ms): ms is number => ms !== null);
  best.stepMs = steps.length ? Math.min(...steps) : null;
  // A part that failed in one process and ran in another has a time; one that failed in all has none.
  const failed = times.filter((t) => t.na);
  if (failed.length === times.length) best.na = failed[0]!.na;
  return best;
}

/**
 * The same setting timed in several fresh processes, each side's best kept: a process that is slow
 * from its start (seen on shared VMs, on either side) weighs no more than a slow round does.
 */
export function bestOfProcesses(answers: { result: SearchStepResult; peak: { oursGflops: number; torchGflops?: number } }[]): SearchStepResult {
  const results = answers.map((a) => a.result);
  const first = results.find((r) => !r.na) ?? results[0]!;
  return {
    ...first,
    na: results.every((r) => r.na) ? first.na : undefined,
    ours: bestOf(results.map((r) => r.ours)),
    peer: first.peer && bestOf(results.map((r) => r.peer!)),
    peakLiveBytes: Math.max(...results.map((r) => r.peakLiveBytes)),
    processes: answers.map(({ result, peak }) => ({
      oursStepMs: result.ours.stepMs, peerStepMs: result.peer?.stepMs, oursGflops: peak.oursGflops, torchGflops: peak.torchGflops,
    })),
  };
}

/** A search step's parts on `backend`, its memory as 'auto' plans it there; release() frees the network, optimizers and batches. */
export async function searchStepParts(backend: Backend, s: SearchSetting): Promise<{ run: Record<Part, () => Promise<void>>; release(): void }> {
  const config = settingConfig(s);
  const plan = await planSearchMemory('auto', config, stepShape(s, config), backend);
  const owned: { release(): void }[] = [];
  const release = () => owned.reverse().forEach((o) => o.release());
  try {
    return { run: buildStep(backend, s, plan, owned), release };
  } catch (error) {
    release();
    throw error;
  }
}

/** Each part's kernels timed on a fresh wasm backend (bench/kernelProfile.ts): where the step's time goes. */
export async function profileSearchStep(s: SearchSetting, reps: number, wasmThreads?: number): Promise<{ threads: number; build: string; parts: Record<Part, PartProfile> }> {
  const backend = await createWasmBackend({ threads: wasmThreads });
  let step: Awaited<ReturnType<typeof searchStepParts>> | undefined;
  try {
    step = await searchStepParts(backend, s);
    const parts = {} as Record<Part, PartProfile>;
    for (const part of PARTS) parts[part] = await profilePart(backend, step.run[part], reps);
    return { threads: backend.threads, build: backend.build, parts };
  } finally {
    step?.release();
    backend.destroy();
  }
}
