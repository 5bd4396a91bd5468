// Per-op benchmark of the eight DARTS primitives at the CIFAR search shapes, our kernels on both of
// our backends (WGSL on WebGPU, C on WebAssembly) against TensorFlow.js on the same WebGPU adapter, on
// its WebAssembly backend and on its CPU backend, and PyTorch CPU (bench/torch_peer.py, at our wasm
// backend's thread count), with the rows PyTorch wins set against our GEMMs' floor (bench/gemmBound.ts);
// then whole search steps of the full search network (forward, Architect step, weight step) beside the
// same steps in PyTorch, with the floating-point work each step does and the GFLOP/s each side reached;
// then how quickly the search page answers input while a search runs, per backend. Ratios are peer
// time / our time (> 1: we are faster); all implementations of a row or a step are measured in
// interleaved rounds, so load from other work on the machine falls on each of them alike.
//
//   npm run bench -- [--quick] [--backends webgpu,wasm] [--peers auto|none|all|webgpu,wasm,cpu,torch]
//                    [--ops a,b|none] [--shapes 16x32x32,...] [--strides 1,2] [--reps n] [--budget seconds]
//                    [--search fmnist,cifar16,cifar64|all|none] [--search-webgpu] [--search-reps n] [--search-processes n]
//                    [--wasm-threads n] [--wasm-profile n]
//                    [--images png,jpeg|all|none]
//                    [--page wasm,webgpu|none] [--page-pauses n] [--queue rounds|none]
//                    [--adapter INDEX|TEXT] [--kernels auto|tune|plain|tiled] [--profile]
//
// --backends: which of our backends get per-op columns (and which run the search step: wasm; WebGPU
//   only with --search-webgpu, as SwiftShader takes minutes per step).
// --peers: auto (default) is TF.js on the twin of each of our backends (webgpu, wasm) and TF.js CPU;
//   torch is PyTorch CPU, run where a Python on this machine imports torch (else the bench says how
//   to get it and goes on without it); all is every one of them.
// --search: the whole-step settings (default fmnist,cifar16, or all three with torch; --quick: fmnist).
//   cifar64 is the paper's batch (the wasm heap is wasm32: 4 GiB at most).
// --search-processes: run each wasm setting (and its PyTorch peer) in this many fresh processes and keep
//   each side's best (default 2 with torch, else 1): a process that is slow from its start, which a shared
//   VM sometimes gives either side, then counts no more than a slow round (bench/stepProcess.ts).
// --wasm-threads: threads of our wasm backend, and of PyTorch (default every core; TF.js WASM runs one in Node).
// --adapter, --kernels: our WebGPU adapter and kernel variants, as the CLI takes them (default: auto, auto).
// --profile: each kernel's share of our WebGPU side of every op row and of the search step, by
//   timestamp queries where the adapter has them; the search step's kernel calls and submits are always counted.
// --wasm-profile n: after the search steps, where each wasm step's time goes (bench/kernelProfile.ts): every
//   kernel's share of each part and the n slowest kernel shapes, on a fresh backend, best of --search-reps.
// --images png,jpeg|all|none: loading image folders without and with the decoded-image cache
//   (bench/imageLoad.ts; default all).
// --page: the page in headless Chromium on these backends (default wasm,webgpu; --quick: wasm), running a
//   search with steps of seconds (bench/pageLatency.ts): the round trip of page.evaluate(() => 1) and the
//   delay from a Pause click to the frame that shows it, over --page-pauses pauses (default 10; --quick: 3).
// --queue: a sweep job run directly and through the BullMQ queue on a local redis-server, alternately,
//   this many rounds each (default 3; --quick: 2): the queue's overhead per job (bench/queueOverhead.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseBuild, describeBuild } from '../runtime/wasm/module.ts';
import { hardwareThreads } from '../runtime/wasm/threads.ts';
import {
  adapterName, createWasmBackend, createWebGpuBackend, KERNEL_POLICIES, type Backend, type KernelPolicy, type MemoryStats, type WasmBackend, type WebGpuBackend,
} from '../runtime/index.ts';
import { dawnInstanceFor } from '../runtime/nodeGpu.ts';
import type { AdapterSummary } from '../runtime/adapters.ts';
import { profileTable, stepProfile, type StepProfile } from '../src/cli/profile.ts';
import { opRuns } from '../src/nn/opRuns.ts';
import { PRIMITIVES, isOpName, type OpName } from '../src/search/space.ts';
import { N, ourCases, SHAPES, shapeName, tfCases, torchCases, type Case, type CaseSet, type Mode, type Shape } from './cases.ts';
import { measurePeak, type Peak } from './peak.ts';
import { boundLine, opGemmFlops, type GemmWork } from './gemmBound.ts';
import { formatProfile } from './kernelProfile.ts';
import {
  bestOfProcesses, PARTS, peerStepCommand, profileSearchStep, SEARCH_SETTINGS, timeSearchStep, type Part, type PartTimes, type ProcessFigures, type SearchStepResult,
} from './searchStep.ts';
import { runStepProcess } from './stepProcess.ts';
import { benchImageLoading, IMAGE_SETS, type ImageSet } from './imageLoad.ts';
import { benchPageLatency, percentile, type BackendLatency } from './pageLatency.ts';
import { benchQueueOverhead } from './queueOverhead.ts';
import type { Tf } from './tfjsOps.ts';
import { TORCH_HINT, TorchPeer } from './torchPeer.ts';

type Ours = 'webgpu' | 'wasm';
type Peer = 'webgpu' | 'wasm' | 'cpu' | 'torch';
const OURS = { webgpu: 'oursWebgpu', wasm: 'oursWasm' } as const;
const PEERS = { webgpu: 'tfjsWebgpu', wasm: 'tfjsWasm', cpu: 'tfjsCpu', torch: 'torch' } as const;
type Impl = (typeof OURS)[Ours] | (typeof PEERS)[Peer];
const LABEL: Record<Impl, string> = {
  oursWebgpu: 'ours-webgpu', oursWasm: 'ours-wasm', tfjsWebgpu: 'tfjs-webgpu', tfjsWasm: 'tfjs-wasm', tfjsCpu: 'tfjs-cpu', torch: 'pytorch',
};

interface Timing {
  /** Median of the runs after the warm-up. */
  ms: number | null;
  runs: number;
  samples: number[];
  /** Why there is no time: the error the implementation raised. */
  na?: string;
}

interface Row {
  op: OpName;
  shape: Shape;
  stride: number;
  timings: Partial<Record<Impl, Record<Mode, Timing>>>;
  /** Ours on each backend, held during a forward+backward step (inputs, weights, activations, gradients), and pooled after it. */
  memory: Partial<Record<Ours, MemoryStats>>;
  /** --profile: each kernel's time in one forward+backward of ours on WebGPU. */
  profile?: StepProfile;
  /** Rows PyTorch wins on wasm: our GEMM kernels' floating-point work. */
  gemmFlops?: GemmWork;
}

type Options = ReturnType<typeof options>;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      backends: { type: 'string', default: 'webgpu,wasm' },
      peers: { type: 'string', default: 'auto' },
      ops: { type: 'string' },
      shapes: { type: 'string' },
      strides: { type: 'string', default: '1,2' },
      reps: { type: 'string' },
      budget: { type: 'string' },
      search: { type: 'string' },
      'search-webgpu': { type: 'boolean', default: false },
      'search-reps': { type: 'string' },
      'search-processes': { type: 'string' },
      'wasm-threads': { type: 'string' },
      'wasm-profile': { type: 'string' },
      images: { type: 'string', default: 'all' },
      page: { type: 'string' },
      'page-pauses': { type: 'string' },
      queue: { type: 'string' },
      adapter: { type: 'string' },
      kernels: { type: 'string', default: 'auto' },
      profile: { type: 'boolean', default: false },
    },
  });
  const list = (s: string | undefined) => (s ? s.split(',').map((v) => v.trim()).filter(Boolean) : undefined);
  const ops = values.ops === 'none' ? [] : list(values.ops) ?? [...PRIMITIVES];
  for (const op of ops) if (!isOpName(op)) throw new Error(`unknown op '${op}'; ops are ${PRIMITIVES.join(', ')} (or none)`);
  const shapeNames = list(values.shapes) ?? (values.quick ? [shapeName(SHAPES[2]!)] : SHAPES.map(shapeName));
  const shapes = shapeNames.map((name) => {
    const shape = SHAPES.find((s) => shapeName(s) === name);
    if (!shape) throw new Error(`unknown shape '${name}'; shapes are ${SHAPES.map(shapeName).join(', ')}`);
    return shape;
  });
  const backends = list(values.backends) ?? [];
  for (const b of backends) if (b !== 'webgpu' && b !== 'wasm') throw new Error(`--backends takes webgpu and/or wasm, got '${b}'`);
  const peerList = { auto: [...backends, 'cpu'], none: [], all: ['webgpu', 'wasm', 'cpu', 'torch'] }[values.peers!] ?? list(values.peers)!;
  for (const p of peerList) if (!(p in PEERS)) throw new Error(`--peers must be auto, none, all or a list of webgpu, wasm, cpu, torch; got '${values.peers}'`);
  const allSettings = SEARCH_SETTINGS.map((s) => s.key);
  const defaultSearch = values.quick ? ['fmnist'] : peerList.includes('torch') ? allSettings : ['fmnist', 'cifar16'];
  const searchNames = { all: allSettings, none: [] }[values.search ?? ''] ?? list(values.search) ?? defaultSearch;
  const search = searchNames.map((key) => {
    const setting = SEARCH_SETTINGS.find((s) => s.key === key);
    if (!setting) throw new Error(`unknown search setting '${key}'; settings are ${SEARCH_SETTINGS.map((s) => s.key).join(', ')} (or all, none)`);
    return setting;
  });
  const searchBackends: Ours[] = [...(backends.includes('wasm') ? ['wasm' as const] : []), ...(values['search-webgpu'] ? ['webgpu' as const] : [])];
  const page = values.page === 'none' ? [] : list(values.page) ?? (values.quick ? ['wasm'] : ['wasm', 'webgpu']);
  for (const b of page) if (b !== 'webgpu' && b !== 'wasm') throw new Error(`--page takes wasm and/or webgpu (or none), got '${b}'`);
  const pagePauses = Number(values['page-pauses'] ?? (values.quick ? 3 : 10));
  const queueRounds = values.queue === 'none' ? 0 : Number(values.queue ?? (values.quick ? 2 : 3));
  const strides = list(values.strides)!.map(Number);
  const reps = Number(values.reps ?? (values.quick ? 2 : 5));
  const searchReps = Number(values['search-reps'] ?? (values.quick ? 1 : 3));
  // Against PyTorch each side's best of two fresh processes counts (bench/stepProcess.ts).
  const searchProcesses = Number(values['search-processes'] ?? (values.quick || !peerList.includes('torch') ? 1 : 2));
  // Our wasm backend's threads, the caller's included (default: every core), and PyTorch's. TF.js WASM has one in Node.
  const wasmThreads = values['wasm-threads'] === undefined ? undefined : Number(values['wasm-threads']);
  const wasmProfile = Number(values['wasm-profile'] ?? 0);
  // A case slower than budget / reps gets fewer runs: TF.js CPU takes seconds per backward.
  const budgetMs = 1000 * Number(values.budget ?? (values.quick ? 5 : 20));
  const images = { all: [...IMAGE_SETS], none: [] }[values.images!] ?? list(values.images)!;
  for (const set of images) if (!IMAGE_SETS.includes(set as ImageSet)) throw new Error(`--images takes ${IMAGE_SETS.join(', ')}, all or none; got '${set}'`);
  if (![...strides, reps, searchReps, searchProcesses, pagePauses, wasmThreads ?? 1, queueRounds || 1, wasmProfile || 1].every((v) => Number.isInteger(v) && v > 0) || !(budgetMs > 0)) {
    throw new Error('--strides, --reps, --search-reps, --search-processes, --page-pauses, --queue, --wasm-threads and --wasm-profile take positive integers, --budget a positive number of seconds');
  }
  return {
    quick: values.quick!, backends: backends as Ours[], peers: [...new Set(peerList)] as Peer[], ops: ops as OpName[], shapes, strides, reps, budgetMs,
    search, searchBackends, searchReps, searchProcesses, wasmThreads, wasmProfile, images: images as ImageSet[], page: page as Ours[], pagePauses, queueRounds,
    profile: values.profile!, webgpu: { adapter: values.adapter, kernels: kernelPolicy(values.kernels!) },
  };
}


function kernelPolicy(value: string): KernelPolicy {
  if (!KERNEL_POLICIES.includes(value as KernelPolicy)) throw new Error(`--kernels takes ${KERNEL_POLICIES.join(', ')}, got '${value}'`);
  return value as KernelPolicy;
}

/** TF.js with the backends the peers need; its WebGPU on a Dawn instance that offers only our adapter, so both run on the same one. */
async function loadTfjs(peers: Peer[], adapter?: AdapterSummary): Promise<{ tf: Tf; wasmInfo?: { simd: boolean; threads: number } }> {
  if (peers.includes('webgpu')) {
    if (!adapter) throw new Error('TF.js WebGPU runs on our adapter: open it first');
    // Held by globalThis for the whole run: Dawn crashes if this object is collected while its device is in use.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: await dawnInstanceFor(adapter) }, configurable: true, writable: true });
  }
  const tf = await import('@tensorflow/tfjs');
  if (peers.includes('webgpu')) await import('@tensorflow/tfjs-backend-webgpu');
  // Production mode only silences its console advice (install tfjs-node); kernels are the same.
  tf.env().set('PROD', true);
  if (!peers.includes('wasm')) return { tf };
  const tfWasm = await import('@tensorflow/tfjs-backend-wasm');
  // Its .wasm files from the installed package (in Node it reads them from disk, next to its code).
  const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  tfWasm.setWasmPaths(`${dist}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error(`TF.js WebAssembly backend failed to initialise from ${dist}`);
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  return { tf, wasmInfo: { simd, threads: tfWasm.getThreadsCount() } };
}

async function timeOnce(c: Case): Promise<number> {
  await c.activate();
  const start = performance.now();
  await c.step();
  return performance.now() - start;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Why a case cannot run, in one line, named after its implementation. */
function reason(impl: Impl, error: unknown): string {
  const message = (error as Error).message.split('\n')[0]!;
  const missing = /Kernel '(\w+)' not registered for backend 'wasm'/.exec(message);
  if (missing) return `${LABEL[impl]}: no ${missing[1]} kernel in TF.js WASM (no gradient for this op there: forward only)`;
  return `${LABEL[impl]}: ${message}`;
}

/**
 * One warm-up run each, then rounds in which every case runs once (fewer for cases over the budget);
 * a case under 1% of the budget runs three times a round, so that one stall of the shared machine
 * cannot make its median.
 */
async function measure(cases: { impl: Impl; c: Case }[], reps: number, budgetMs: number): Promise<Timing[]> {
  const runs: number[][] = cases.map(() => []);
  const allowed: number[] = [];
  const perRound: number[] = [];
  const na: (string | undefined)[] = [];
  for (const [i, { impl, c }] of cases.entries()) {
    try {
      const ms = await timeOnce(c);
      allowed[i] = Math.max(1, Math.min(reps, Math.floor(budgetMs / ms)));
      perRound[i] = ms < budgetMs / 100 ? 3 : 1;
    } catch (error) {
      na[i] = reason(impl, error);
      allowed[i] = 0;
    }
  }
  for (let r = 0; r < reps; r++) {
    for (const [i, { c }] of cases.entries()) {
      if (r < allowed[i]!) for (let k = 0; k < perRound[i]!; k++) runs[i]!.push(await timeOnce(c));
    }
  }
  return cases.map((_, i) => ({ ms: na[i] === undefined ? median(runs[i]!) : null, runs: runs[i]!.length, samples: runs[i]!, na: na[i] }));
}

interface Engines {
  ours: Partial<Record<Ours, Backend & { trim?(): void }>>;
  tf: Tf | null;
  torch: TorchPeer | null;
}

/** One forward+backward of ours on WebGPU (after a warm-up), every kernel timed. */
async function profileOp(backend: WebGpuBackend, op: OpName, shape: Shape, stride: number): Promise<StepProfile> {
  const runs = opRuns(backend, op, shape, stride);
  try {
    await runs.forwardBackward();
    const [dispatches, submits] = [backend.dispatches, backend.submits];
    const method = backend.startProfiling();
    await runs.forwardBackward();
    const times = await backend.stopProfiling();
    return stepProfile(method, 1, times, backend.dispatches - dispatches, backend.submits - submits);
  } finally {
    runs.release();
  }
}

async function benchRow(engines: Engines, opts: Options, op: OpName, shape: Shape, stride: number): Promise<Row> {
  const ours = opts.backends.map((b) => ourCases(engines.ours[b]!, OURS[b], op, shape, stride));
  const peers: CaseSet[] = [];
  for (const peer of opts.peers) {
    peers.push(peer === 'torch' ? await torchCases(engines.torch!, PEERS.torch, op, shape, stride) : await tfCases(engines.tf!, PEERS[peer], peer, op, shape, stride));
  }
  const all = [...ours, ...peers];
  const timings = await measure(all.flatMap((s) => s.cases.map((c) => ({ impl: s.impl as Impl, c }))), opts.reps, opts.budgetMs);
  const row: Row = { op, shape, stride, timings: {}, memory: {} };
  all.forEach((s, i) => (row.timings[s.impl as Impl] = { fwd: timings[2 * i]!, fwdBwd: timings[2 * i + 1]! }));
  for (const [i, b] of opts.backends.entries()) row.memory[b] = await ours[i]!.memory();
  for (const s of all) await s.release();
  return row;
}

// ---- Output: a table streamed row by row, footnotes for the n/a reasons, JSON rewritten after each row.

const footnotes: string[] = [];

function cell(t: Timing | undefined): string {
  if (!t) return '-';
  if (t.ms === null) {
    if (!footnotes.includes(t.na!)) footnotes.push(t.na!);
    return `n/a[${footnotes.indexOf(t.na!) + 1}]`;
  }
  return num(t.ms);
}

const num = (v: number) => (v < 0.1 ? v.toPrecision(2) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

function ratio(peer: number | null | undefined, ours: number | null | undefined): string {
  if (!peer || !ours) return '-';
  const r = peer / ours;
  return r < 10 ? r.toPrecision(2) : r.toFixed(0);
}

interface Column {
  group: string;
  head: string;
  width: number;
  value(r: Row): string;
}

/** The table's columns for this run: times of every implementation, peer/ours ratios of the fair pairs, our memory. */
function columns(opts: Options): Column[] {
  const impls: Impl[] = [];
  for (const b of ['webgpu', 'wasm'] as const) {
    if (opts.backends.includes(b)) impls.push(OURS[b]);
    if (opts.peers.includes(b)) impls.push(PEERS[b]);
  }
  if (opts.peers.includes('cpu')) impls.push('tfjsCpu');
  if (opts.peers.includes('torch')) impls.push('torch');
  const cols: Column[] = [
    { group: '', head: 'op', width: 13, value: (r) => r.op },
    { group: '', head: 'C×H×W', width: 9, value: (r) => shapeName(r.shape).replaceAll('x', '×') },
    { group: '', head: 's', width: 2, value: (r) => String(r.stride) },
  ];
  for (const impl of impls) {
    cols.push({ group: LABEL[impl], head: 'fwd ms', width: 7, value: (r) => cell(r.timings[impl]?.fwd) });
    cols.push({ group: LABEL[impl], head: 'f+b ms', width: 7, value: (r) => cell(r.timings[impl]?.fwdBwd) });
  }
  // TF.js CPU (plain JavaScript) against our CPU path when it runs, else against WebGPU as before.
  const cpuAgainst: Ours | undefined = opts.backends.includes('wasm') ? 'wasm' : opts.backends[0];
  const pairs: [Impl, Impl, string][] = [];
  if (opts.peers.includes('webgpu') && opts.backends.includes('webgpu')) pairs.push(['tfjsWebgpu', 'oursWebgpu', 'gpu: tfjs/ours']);
  if (opts.peers.includes('wasm') && opts.backends.includes('wasm')) pairs.push(['tfjsWasm', 'oursWasm', 'wasm: tfjs/ours']);
  if (opts.peers.includes('cpu') && cpuAgainst) pairs.push(['tfjsCpu', OURS[cpuAgainst], `tfjs-cpu/${cpuAgainst}`]);
  if (opts.peers.includes('torch') && cpuAgainst) pairs.push(['torch', OURS[cpuAgainst], `pytorch/${cpuAgainst}`]);
  for (const [peer, ours, group] of pairs) {
    for (const mode of ['fwd', 'fwdBwd'] as const) {
      cols.push({ group, head: mode === 'fwd' ? 'fwd' : 'f+b', width: Math.max(7, Math.ceil((group.length - 1) / 2)), value: (r) => ratio(r.timings[peer]?.[mode]?.ms, r.timings[ours]?.[mode]?.ms) });
    }
  }
  const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(1));
  for (const b of opts.backends) {
    cols.push({ group: 'MB live/pooled', head: b, width: opts.backends.length > 1 ? 11 : 14, value: (r) => `${mb(r.memory[b]?.liveBytes)}/${mb(r.memory[b]?.pooledBytes)}` });
  }
  return cols;
}

const pad = (c: Pick<Column, 'width'>, text: string, i: number) => (i < 2 ? text.padEnd(c.width) : text.padStart(c.width));

function header(cols: Pick<Column, 'group' | 'head' | 'width'>[]): string {
  // The group label centred over the columns it spans.
  const groups: string[] = [];
  for (let i = 0; i < cols.length; ) {
    let j = i;
    let width = -1;
    while (j < cols.length && cols[j]!.group === cols[i]!.group) width += cols[j++]!.width + 1;
    const label = cols[i]!.group;
    groups.push(label.padStart(Math.floor((width + label.length) / 2)).padEnd(width));
    i = j;
  }
  return [groups.join(' '), cols.map((c, i) => pad(c, c.head, i)).join(' ')].join('\n');
}

const formatRow = (cols: Column[], r: Row) => cols.map((c, i) => pad(c, c.value(r), i)).join(' ');

// ---- The whole search step.

const seconds = (ms: number | null | undefined) => (ms == null ? 'n/a' : (ms / 1000).toFixed(2));
type StepPart = Part | 'step';
const STEP_PARTS: StepPart[] = [...PARTS, 'step'];
const HEADS: Record<StepPart, string> = { forward: 'fwd', weightStep: 'weight', architectStep: 'arch', step: 'a+w' };
const partMs = (t: PartTimes | undefined, p: StepPart) => (p === 'step' ? t?.stepMs : t?.ms[p]);
const partFlops = (r: SearchStepResult, p: StepPart) => (p === 'step' ? r.flops.architectStep + r.flops.weightStep : r.flops[p]);

type StepColumn = Omit<Column, 'value'> & { value(r: SearchStepResult): string };

/** Times of both sides, pytorch/ours per part, the step's work and what each side made of it, memory. */
function stepColumns(withPeer: boolean): StepColumn[] {
  const gib = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 30).toFixed(2));
  const gflops = (r: SearchStepResult, t: PartTimes | undefined) => {
    const ms = partMs(t, 'step');
    return ms ? (partFlops(r, 'step') / ms / 1e6).toFixed(1) : '-';
  };
  const times = (group: string, side: (r: SearchStepResult) => PartTimes | undefined) =>
    STEP_PARTS.map((p): StepColumn => ({ group, head: HEADS[p], width: 7, value: (r) => seconds(partMs(side(r), p)) }));
  return [
    { group: '', head: 'search step, all 14 edges mixed', width: 50, value: (r) => r.label + (r.recomputeCells ? ', cells recomputed' : '') },
    { group: '', head: 'backend', width: 8, value: (r) => r.backend + (r.threads ? `×${r.threads}` : '') },
    ...times('ours, s', (r) => r.ours),
    ...(withPeer ? [
      ...times('pytorch, s', (r) => r.peer),
      ...STEP_PARTS.map((p): StepColumn => ({ group: 'pytorch/ours', head: HEADS[p], width: 6, value: (r) => ratio(partMs(r.peer, p), partMs(r.ours, p)) })),
    ] : []),
    { group: 'GFLOP', head: 'a+w', width: 6, value: (r) => (partFlops(r, 'step') / 1e9).toFixed(1) },
    { group: 'GFLOP/s', head: 'ours', width: 6, value: (r) => gflops(r, r.ours) },
    ...(withPeer ? [{ group: 'GFLOP/s', head: 'torch', width: 6, value: (r: SearchStepResult) => gflops(r, r.peer) }] : []),
    { group: 'a step', head: 'kernels', width: 7, value: (r) => (r.dispatchesPerStep === null ? '-' : String(r.dispatchesPerStep)) },
    { group: 'a step', head: 'submits', width: 7, value: (r) => (r.submitsPerStep === null ? '-' : String(r.submitsPerStep)) },
    { group: 'GiB', head: 'need', width: 6, value: (r) => gib(r.neededBytes) },
    { group: 'GiB', head: 'peak', width: 6, value: (r) => gib(r.peakLiveBytes) },
    { group: 'GiB', head: 'heap', width: 6, value: (r) => gib(r.memory ? r.memory.liveBytes + r.memory.pooledBytes : undefined) },
  ];
}

function formatStep(cols: StepColumn[], r: SearchStepResult): string {
  const notes = [r.na, r.ours.na && `ours: ${r.ours.na}`, r.peer?.na && `pytorch: ${r.peer.na}`].filter(Boolean);
  return [cols.map((c, i) => pad(c, c.value(r), i)).join(' '), ...notes.map((n) => `  ${r.backend} ${r.setting}: ${n}`)].join('\n');
}

/** Each process's step and GEMM peak, both sides: how far a slow process was from the best. */
function formatProcesses(processes: ProcessFigures[]): string {
  const list = (values: (number | null | undefined)[], digits: number) => values.map((v) => (v == null ? 'n/a' : v.toFixed(digits))).join(', ');
  const ours = `ours a+w ${list(processes.map((p) => (p.oursStepMs ?? NaN) / 1000), 2)} s (GEMM ${list(processes.map((p) => p.oursGflops), 1)} GFLOP/s)`;
  const torch = processes[0]!.torchGflops === undefined ? ''
    : `; pytorch a+w ${list(processes.map((p) => (p.peerStepMs ?? NaN) / 1000), 2)} s (sgemm ${list(processes.map((p) => p.torchGflops), 1)} GFLOP/s)`;
  return `  processes: ${ours}${torch}`;
}

/** PyTorch at our wasm backend's thread count, or null with the reason printed and the hint to get it. */
async function startTorch(opts: Options): Promise<TorchPeer | null> {
  const threads = opts.wasmThreads ?? (await hardwareThreads());
  const peer = await TorchPeer.start(threads);
  if (!(peer instanceof TorchPeer)) {
    console.log(`pytorch: ${peer.missing}; going on without it. To compare: ${TORCH_HINT}`);
    return null;
  }
  return peer;
}

/** Under the table, the rows PyTorch wins on wasm, each with our GEMMs' time at the measured peak. */
async function printGemmBounds(rows: Row[], peak: Peak): Promise<void> {
  const lost: { row: Row; mode: Mode }[] = [];
  for (const row of rows) {
    for (const mode of ['fwd', 'fwdBwd'] as const) {
      const [peer, ours] = [row.timings.torch?.[mode]?.ms, row.timings.oursWasm?.[mode]?.ms];
      if (peer && ours && peer < ours) lost.push({ row, mode });
    }
  }
  if (!lost.length) return;
  console.log(
    `Rows PyTorch wins, against our GEMMs alone at our ${peak.n}³ GEMM peak (${peak.oursGflops.toFixed(1)} GFLOP/s, 128-bit wasm SIMD` +
      (peak.torchGflops ? `; pytorch sgemm ${peak.torchGflops.toFixed(1)} GFLOP/s` : '') + '):',
  );
  for (const { row, mode } of lost) {
    row.gemmFlops ??= await opGemmFlops(row.op, row.shape, row.stride);
    const name = `${row.op} ${shapeName(row.shape).replaceAll('x', '×')} s${row.stride} ${mode === 'fwd' ? 'fwd' : 'f+b'}`;
    console.log(boundLine({ name, oursMs: row.timings.oursWasm![mode]!.ms!, peerMs: row.timings.torch![mode]!.ms!, gemmFlops: row.gemmFlops[mode] }, peak.oursGflops));
  }
}

async function main(): Promise<void> {
  const opts = options();
  const date = new Date().toISOString();
  const file = `bench/results/bench-${date.replaceAll(':', '-').slice(0, 19)}.json`;
  mkdirSync('bench/results', { recursive: true });
  const json: Record<string, unknown> = { date, N, options: { ...opts, shapes: opts.shapes.map(shapeName), search: opts.search.map((s) => s.key) } };
  const save = () => writeFileSync(file, JSON.stringify(json, null, 1) + '\n');

  const rows: Row[] = [];
  let peak: Peak | undefined;
  const torch = opts.peers.includes('torch') ? await startTorch(opts) : null;
  if (!torch) opts.peers = opts.peers.filter((p) => p !== 'torch');
  if (torch) {
    json.pytorch = torch.info;
    const { version, python, threads, mkldnn, ompWaitPolicy } = torch.info;
    console.log(`pytorch ${version} (${python}): ${threads} thread${threads > 1 ? 's' : ''}, oneDNN ${mkldnn ? 'on' : 'off'}, OMP_WAIT_POLICY ${ompWaitPolicy}`);
  }
  const engines: Engines = { ours: {}, tf: null, torch };
  const runOps = opts.ops.length > 0 && opts.backends.length + opts.peers.length > 0;
  let webgpu: WebGpuBackend | undefined;
  if (runOps) {
    // Our WebGPU device first, whenever TF.js WebGPU runs too, so that both take the same adapter.
    if (opts.backends.includes('webgpu') || opts.peers.includes('webgpu')) webgpu = await createWebGpuBackend(opts.webgpu);
    let wasm: WasmBackend | undefined;
    if (opts.backends.includes('wasm')) wasm = await createWasmBackend({ threads: opts.wasmThreads });
    if (opts.backends.includes('webgpu')) engines.ours.webgpu = webgpu;
    if (wasm) engines.ours.wasm = wasm;
    const tfPeers = opts.peers.filter((p) => p !== 'torch');
    const loaded = tfPeers.length ? await loadTfjs(tfPeers, webgpu?.opened.adapter) : null;
    engines.tf = loaded?.tf ?? null;
    const about: string[] = [`N=${N}`];
    if (webgpu) {
      json.adapter = adapterName(webgpu.opened.adapter);
      about.push(`WebGPU adapter: ${json.adapter}`);
    }
    if (wasm) about.push(`ours-wasm: ${wasm.threads} thread${wasm.threads > 1 ? 's' : ''}, ${wasm.build}`);
    if (loaded?.wasmInfo) {
      json.tfjsWasm = loaded.wasmInfo;
      about.push(`tfjs-wasm: ${loaded.wasmInfo.threads} thread${loaded.wasmInfo.threads > 1 ? 's' : ''}, SIMD ${loaded.wasmInfo.simd ? 'on' : 'off'}`);
    }
    json.oursWasmThreads = wasm?.threads;
    console.log(about.join('; '));
    console.log(`median of up to ${opts.reps} rounds after one warm-up (3 runs a round for cases under ${num(opts.budgetMs / 100)} ms); ratios = peer / ours (> 1: we are faster)`);
    if (wasm) console.log(`wasm MB live includes its worker stacks (${wasm.threads - 1} × 4 MiB); its pool is never returned, so it grows over the run`);
    const cols = columns(opts);
    console.log(header(cols));
    json.rows = rows;
    for (const shape of opts.shapes) {
      for (const stride of opts.strides) {
        for (const op of opts.ops) {
          const row = await benchRow(engines, opts, op, shape, stride);
          rows.push(row);
          console.log(formatRow(cols, row));
          if (opts.profile && engines.ours.webgpu) {
            row.profile = await profileOp(engines.ours.webgpu as WebGpuBackend, op, shape, stride);
            console.log(profileTable(row.profile, 6).replace(/^profile: 1 step/, '  profile of one forward+backward'));
          }
          save();
        }
      }
    }
    footnotes.forEach((reason, i) => console.log(`n/a[${i + 1}]: ${reason}`));
    if (wasm && torch) {
      peak = await measurePeak(opts.wasmThreads, torch);
      json.peak = peak;
      await printGemmBounds(rows, peak);
      save();
    }
    // The search steps take a fresh wasm backend each: this one's heap would only be in the way.
    wasm?.destroy();
  }

  if (opts.search.length && opts.searchBackends.length) {
    const steps: SearchStepResult[] = [];
    json.searchSteps = steps;
    console.log();
    peak ??= await measurePeak(opts.wasmThreads, torch);
    json.peak = peak;
    console.log([
      'Whole search step: forward (training mode, nothing recorded), Architect step (first order: fwd+bwd to the alphas, Adam), weight step',
      `(fwd+bwd, clipping, SGD), as Search runs them, on synthetic batches; minimum of ${opts.searchReps} run${opts.searchReps > 1 ? 's' : ''} after one warm-up; a+w = one search step.`,
      ...(opts.searchProcesses > 1
        ? [`wasm: each setting runs in ${opts.searchProcesses} fresh processes (PyTorch in fresh ones beside them); each side's best process counts, and each process's a+w and GEMM peak are listed.`]
        : []),
      torch
        ? `PyTorch (bench/torch_peer.py, the same network and step) runs each part right after ours, at ${torch.info.threads} thread${torch.info.threads > 1 ? 's' : ''}; pytorch/ours > 1: we are faster.`
        : 'No PyTorch in this run (--peers torch adds it).',
      'GFLOP = the floating-point work of one step (Architect + weight), counted on a backend that runs no kernels; GFLOP/s = that work / the time.',
      `Peak, ${peak.n}³ GEMM (best of 5): ours-wasm ${peak.oursGflops.toFixed(1)} GFLOP/s` + (peak.torchGflops ? `, pytorch sgemm ${peak.torchGflops.toFixed(1)} GFLOP/s` : '') + '.',
      'a step: kernel calls (WebGPU dispatches) and WebGPU queue submits in one search step (Architect + weight step);',
      'GiB: need = most bytes live at once, counted without computing (the wasm heap is wasm32: 4 GiB at most); peak = most live in this run;',
      "heap = the wasm allocator's (or WebGPU pool's) high-water mark.",
    ].join('\n'));
    const threads = opts.wasmThreads ?? (await hardwareThreads());
    console.log(`ours-wasm: ${threads} thread${threads > 1 ? 's' : ''}, ${describeBuild(await chooseBuild(threads > 1, 'auto'))}`);
    const stepCols = stepColumns(torch !== null);
    console.log(header(stepCols));
    for (const setting of opts.search) {
      for (const kind of opts.searchBackends) {
        if (kind === 'webgpu') webgpu ??= await createWebGpuBackend(opts.webgpu);
        let result: SearchStepResult;
        // A process that fails (its PyTorch peer gone, say) leaves the others to count; all failed, it says why in the row's place.
        const failures: string[] = [];
        if (kind === 'wasm' && opts.searchProcesses > 1) {
          const answers = [];
          for (let i = 0; i < opts.searchProcesses; i++) {
            try {
              answers.push(await runStepProcess({ setting: setting.key, reps: opts.searchReps, threads, torch: torch !== null }));
            } catch (error) {
              failures.push(`  ${(error as Error).message}`);
            }
          }
          if (!answers.length) {
            console.log(failures.join('\n'));
            continue;
          }
          result = bestOfProcesses(answers);
        } else {
          const peer = torch && kind === 'wasm' ? await torch.prepare(peerStepCommand(setting)) : undefined;
          result = await timeSearchStep(kind, setting, opts.searchReps, { shared: webgpu, wasmThreads: opts.wasmThreads, peer, profile: opts.profile });
        }
        steps.push(result);
        console.log(formatStep(stepCols, result));
        if (result.processes) console.log(formatProcesses(result.processes));
        for (const failure of failures) console.log(failure);
        if (result.profile) console.log(profileTable(result.profile));
        save();
      }
    }
    if (opts.wasmProfile && opts.searchBackends.includes('wasm')) {
      const profiles: Record<string, unknown> = {};
      json.searchProfiles = profiles;
      for (const setting of opts.search) {
        const p = await profileSearchStep(setting, opts.searchReps, opts.wasmThreads);
        profiles[setting.key] = p;
        console.log(`\nwhere the time goes: ${setting.label}, ours-wasm ${p.threads} thread${p.threads > 1 ? 's' : ''}, ${p.build}`);
        for (const part of PARTS) console.log(formatProfile(part, p.parts[part], opts.wasmProfile).join('\n'));
        save();
      }
    }
  } else if (opts.search.length) {
    console.log('\nsearch step: not timed (it runs on wasm; add wasm to --backends, or --search-webgpu for SwiftShader)');
  }
  if (opts.images.length) {
    json.imageLoading = await benchImageLoading(opts.images, (line) => console.log(line));
    save();
  }
  webgpu?.destroy();
  torch?.close();

  if (opts.page.length) {
    console.log();
    console.log([
      'Page input latency during a search (headless Chromium, the engine in its Worker):',
      'page.evaluate(() => 1) round trips every ~100 ms while steps compute, and Pause click to the frame that shows it; ms.',
    ].join('\n'));
    const cols = pageColumns();
    console.log(header(cols));
    const results = await benchPageLatency(opts.page, opts.pagePauses);
    json.pageLatency = results;
    for (const r of results) console.log(cols.map((c, i) => pad(c, c.value(r), i)).join(' ') + (r.gaveUp ? `\n  ${r.backend}: gave up, ${r.gaveUp}` : ''));
    save();
  }
  if (opts.queueRounds) {
    console.log('\nSweep queue overhead per job: the same tiny search directly and through BullMQ on a local redis-server (goal: at most 1 s)');
    const wasm = await createWasmBackend({ threads: opts.wasmThreads });
    const result = await benchQueueOverhead(wasm, opts.queueRounds, (line) => console.log(line));
    wasm.destroy();
    json.queueOverhead = result;
    console.log(`  median direct ${median(result.directSeconds).toFixed(2)} s, through the queue ${median(result.queuedSeconds).toFixed(2)} s: ` +
      `overhead ${result.overheadSeconds.toFixed(2)} s per job (${result.overheadSeconds <= result.goalSeconds ? 'within' : 'OVER'} the 1 s goal; load ${result.load.map((l) => l.toFixed(1)).join(' → ')})`);
    save();
  }
  console.log(`written ${file}`);
}

type PageColumn = Omit<Column, 'value'> & { value(r: BackendLatency): string };

function pageColumns(): PageColumn[] {
  const ms = (values: number[], p: number) => (values.length ? percentile(values, p).toFixed(0) : '-');
  const stats = (group: string, pick: (r: BackendLatency) => number[]): PageColumn[] => [
    ...([['p50', 50], ['p95', 95], ['max', 100]] as const).map(([head, p]): PageColumn => ({ group, head, width: 6, value: (r) => ms(pick(r), p) })),
    { group, head: 'n', width: 4, value: (r) => String(pick(r).length) },
  ];
  return [
    { group: '', head: 'backend', width: 8, value: (r) => r.backend },
    { group: '', head: 'adapter', width: 38, value: (r) => r.adapter.slice(0, 38) },
    { group: '', head: 'search', width: 18, value: (r) => [r.settings.preset, r.settings.batchSize && `batch ${r.settings.batchSize}`].filter(Boolean).join(', ') },
    { group: '', head: 'step s', width: 6, value: (r) => (Number.isFinite(r.stepSeconds) ? r.stepSeconds.toFixed(2) : '-') },
    ...stats('page.evaluate, ms', (r) => r.evaluateMs),
    ...stats('Pause acknowledged, ms', (r) => r.pauseAckMs),
  ];
}

await main();
