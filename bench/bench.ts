// Per-op benchmark of the eight DARTS primitives at the CIFAR search shapes: our WGSL kernels against
// TensorFlow.js on the same WebGPU adapter and on its CPU backend. Ratios are peer time / our time
// (> 1: we are faster); all implementations are measured in interleaved rounds, so load from other
// work on the machine falls on each of them alike.
//
//   npm run bench -- [--quick] [--ops a,b] [--shapes 16x32x32,...] [--strides 1,2] [--peers none|webgpu|cpu|all]
//                    [--reps n] [--budget seconds]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createWebGpuBackend, type MemoryStats, type WebGpuBackend } from '../runtime/index.ts';
import { PRIMITIVES, isOpName, type OpName } from '../src/search/space.ts';
import { ourCases, tfCases, type Case, type Mode, type Shape } from './cases.ts';
import type { Tf } from './tfjsOps.ts';

const N = 64;
const SHAPES: Shape[] = [{ N, C: 16, H: 32, W: 32 }, { N, C: 32, H: 16, W: 16 }, { N, C: 64, H: 8, W: 8 }];
const PEERS = { webgpu: 'tfjsWebgpu', cpu: 'tfjsCpu' } as const;
type Peer = keyof typeof PEERS;
type Impl = 'ours' | (typeof PEERS)[Peer];

// PEERS.md, N = 64, C = 16, 32×32, one thread, minimum of several runs: recorded there, not measured here.
const PYTORCH_CPU_RECORDED = {
  shape: '16x32x32',
  ops: [
    { what: 'sep_conv_3x3', op: 'sep_conv_3x3', fwd: 4.5, fwdBwd: 10.8 },
    { what: 'its parts: depthwise 3×3', fwd: 0.41, fwdBwd: 1.21 },
    { what: 'its parts: 1×1 conv', fwd: 0.37, fwdBwd: 1.31 },
    { what: 'its parts: BN (training)', fwd: 0.79, fwdBwd: 1.2 },
  ],
  note: 'depthwise 5×5 and dilated depthwise backward 15–22 ms; 3×3 pools 4–11 ms',
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
  /** Ours, held during a forward+backward step (inputs, weights, activations, gradients), and pooled after it. */
  memory: MemoryStats;
}

type Options = ReturnType<typeof options>;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      ops: { type: 'string' },
      shapes: { type: 'string' },
      strides: { type: 'string', default: '1,2' },
      peers: { type: 'string', default: 'all' },
      reps: { type: 'string' },
      budget: { type: 'string' },
    },
  });
  const list = (s: string | undefined) => (s ? s.split(',').map((v) => v.trim()) : undefined);
  const ops = list(values.ops) ?? [...PRIMITIVES];
  for (const op of ops) if (!isOpName(op)) throw new Error(`unknown op '${op}'; ops are ${PRIMITIVES.join(', ')}`);
  const shapeNames = list(values.shapes) ?? (values.quick ? [shapeName(SHAPES[2]!)] : SHAPES.map(shapeName));
  const shapes = shapeNames.map((name) => {
    const shape = SHAPES.find((s) => shapeName(s) === name);
    if (!shape) throw new Error(`unknown shape '${name}'; shapes are ${SHAPES.map(shapeName).join(', ')}`);
    return shape;
  });
  const peerNames = { none: [], webgpu: ['webgpu'], cpu: ['cpu'], all: ['webgpu', 'cpu'] }[values.peers!] as Peer[] | undefined;
  if (!peerNames) throw new Error(`--peers must be none, webgpu, cpu or all, got '${values.peers}'`);
  const strides = list(values.strides)!.map(Number);
  const reps = Number(values.reps ?? (values.quick ? 2 : 5));
  // A case slower than budget / reps gets fewer runs: TF.js CPU takes seconds per backward.
  const budgetMs = 1000 * Number(values.budget ?? (values.quick ? 5 : 20));
  if (![...strides, reps].every((v) => Number.isInteger(v) && v > 0) || !(budgetMs > 0)) {
    throw new Error('--strides and --reps take positive integers, --budget a positive number of seconds');
  }
  return { quick: values.quick!, ops: ops as OpName[], shapes, strides, peers: peerNames, reps, budgetMs };
}

const shapeName = (s: Shape) => `${s.C}x${s.H}x${s.W}`;

/** TF.js, loaded once our backend has pointed Dawn at the adapter, so both run on the same one. */
async function loadTfjs(): Promise<Tf> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Held by globalThis for the whole run: Dawn crashes if this object is collected while its device is in use.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  // Production mode only silences its console advice (install tfjs-node); kernels are the same.
  tf.env().set('PROD', true);
  return tf;
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

/** One warm-up run each, then rounds in which every case runs once (fewer for cases over the budget). */
async function measure(cases: Case[], reps: number, budgetMs: number): Promise<Timing[]> {
  const runs: number[][] = cases.map(() => []);
  const allowed: number[] = [];
  const na: (string | undefined)[] = [];
  for (const [i, c] of cases.entries()) {
    try {
      allowed[i] = Math.max(1, Math.min(reps, Math.floor(budgetMs / (await timeOnce(c)))));
    } catch (error) {
      na[i] = (error as Error).message.split('\n')[0];
      allowed[i] = 0;
    }
  }
  for (let r = 0; r < reps; r++) {
    for (const [i, c] of cases.entries()) if (r < allowed[i]!) runs[i]!.push(await timeOnce(c));
  }
  return cases.map((_, i) => ({ ms: na[i] === undefined ? median(runs[i]!) : null, runs: runs[i]!.length, samples: runs[i]!, na: na[i] }));
}

async function benchRow(backend: WebGpuBackend, tf: Tf | null, opts: Options, op: OpName, shape: Shape, stride: number): Promise<Row> {
  const ours = ourCases(backend, op, shape, stride);
  const peerCases = [];
  for (const peer of opts.peers) peerCases.push(await tfCases(tf!, PEERS[peer], peer, op, shape, stride));
  const all = [ours, ...peerCases];
  const timings = await measure(all.flatMap((s) => s.cases), opts.reps, opts.budgetMs);
  const row: Row = { op, shape, stride, timings: {}, memory: await ours.memory() };
  all.forEach((s, i) => (row.timings[s.impl as Impl] = { fwd: timings[2 * i]!, fwdBwd: timings[2 * i + 1]! }));
  for (const s of all) s.release();
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
  return t.ms < 10 ? t.ms.toFixed(2) : t.ms < 100 ? t.ms.toFixed(1) : t.ms.toFixed(0);
}

function ratio(peer: Timing | undefined, ours: Timing | undefined): string {
  if (!peer?.ms || !ours?.ms) return '-';
  const r = peer.ms / ours.ms;
  return r < 10 ? r.toPrecision(2) : r.toFixed(0);
}

const WIDTHS = [13, 9, 2, 9, 9, 9, 9, 9, 9, 7, 7, 7, 7, 7, 7];
const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join(' ');
// Column groups over the second header line: a label and how many columns it spans.
const GROUPS: [string, number][] = [['', 3], ['ours', 2], ['tfjs-webgpu', 2], ['tfjs-cpu', 2], ['webgpu/ours', 2], ['cpu/ours', 2], ['ours MB', 2]];
const HEADER = [
  GROUPS.map(([label, span], g) => {
    const first = GROUPS.slice(0, g).reduce((n, [, s]) => n + s, 0);
    const width = WIDTHS.slice(first, first + span).reduce((a, b) => a + b + 1, -1);
    return label.padStart(Math.floor((width + label.length) / 2)).padEnd(width);
  }).join(' '),
  line(['op', 'C×H×W', 's', 'fwd ms', 'f+b ms', 'fwd ms', 'f+b ms', 'fwd ms', 'f+b ms', 'fwd', 'f+b', 'fwd', 'f+b', 'live', 'pooled']),
];

function formatRow(r: Row): string {
  const { ours, tfjsWebgpu: gpu, tfjsCpu: cpu } = r.timings;
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return line([
    r.op, shapeName(r.shape).replaceAll('x', '×'), String(r.stride),
    cell(ours?.fwd), cell(ours?.fwdBwd), cell(gpu?.fwd), cell(gpu?.fwdBwd), cell(cpu?.fwd), cell(cpu?.fwdBwd),
    ratio(gpu?.fwd, ours?.fwd), ratio(gpu?.fwdBwd, ours?.fwdBwd), ratio(cpu?.fwd, ours?.fwd), ratio(cpu?.fwdBwd, ours?.fwdBwd),
    mb(r.memory.liveBytes), mb(r.memory.pooledBytes),
  ]);
}

const recorded = (ms: number): Timing => ({ ms, runs: 1, samples: [ms] });

function recordedLines(rows: Row[]): string[] {
  const { shape, ops, note } = PYTORCH_CPU_RECORDED;
  const lines = [`PyTorch 1.13 CPU, 1 thread, N=${N} ${shape}: RECORDED in PEERS.md on this kind of machine, not measured by this run (ms, fwd / f+b)`];
  for (const r of ops) {
    const ours = rows.find((row) => row.op === r.op && shapeName(row.shape) === shape && row.stride === 1)?.timings.ours;
    const vs = ours ? `   pytorch/ours: ${ratio(recorded(r.fwd), ours.fwd)} / ${ratio(recorded(r.fwdBwd), ours.fwdBwd)}` : '';
    lines.push(`  ${r.what.padEnd(26)} ${r.fwd} / ${r.fwdBwd}${vs}`);
  }
  lines.push(`  ${note}`);
  return lines;
}

async function main(): Promise<void> {
  const opts = options();
  const backend = await createWebGpuBackend();
  const tf = opts.peers.length ? await loadTfjs() : null;
  const info = backend.opened.adapterInfo;
  const adapter = `${info.vendor} ${info.architecture} ${info.description}`.replace(/\s+/g, ' ').trim();
  const date = new Date().toISOString();
  const file = `bench/results/bench-${date.replaceAll(':', '-').slice(0, 19)}.json`;
  mkdirSync('bench/results', { recursive: true });
  console.log(`N=${N}, adapter: ${adapter}; median of up to ${opts.reps} runs after one warm-up; ratios = peer / ours (> 1: we are faster)`);
  console.log(HEADER.join('\n'));
  const rows: Row[] = [];
  for (const shape of opts.shapes) {
    for (const stride of opts.strides) {
      for (const op of opts.ops) {
        const row = await benchRow(backend, tf, opts, op, shape, stride);
        rows.push(row);
        console.log(formatRow(row));
        const json = { date, adapter, N, options: { ...opts, shapes: opts.shapes.map(shapeName) }, rows, pytorchCpuRecorded: PYTORCH_CPU_RECORDED };
        writeFileSync(file, JSON.stringify(json, null, 1) + '\n');
      }
    }
  }
  footnotes.forEach((reason, i) => console.log(`n/a[${i + 1}]: ${reason}`));
  console.log(recordedLines(rows).join('\n'));
  console.log(`written ${file}`);
  backend.destroy();
}

await main();
