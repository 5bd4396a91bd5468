// `sgas doctor [--json]`: the one command to run on any machine to report how sgas does there. For
// every WebGPU adapter (or the one --adapter names): the golden cases with the largest error per op
// and per WGSL kernel family, the tiny search's genotype (which must be WebAssembly's), a few ops
// timed, and the kernel variants the autotune picks. --json prints the cross-vendor report
// (format sgas-doctor-v1, documented in the README).
import { arch, platform } from 'node:os';
import {
  adapterName, chooseAdapter, createWasmBackend, createWebGpuBackend, listAdapters,
  type AdapterSummary, type Backend, type KernelCall, type TunedKernel, type WebGpuBackend,
} from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import type { TensorResult } from '../golden/runner.ts';
import { runGolden } from '../golden/runner.ts';
import { opRuns, type Shape } from '../nn/opRuns.ts';
import { resultReport, type SearchReport } from '../search/report.ts';
import { SMOKE_SEED, tinySearch } from '../search/smoke.ts';
import type { OpName } from '../search/space.ts';
import { parseFlags, type DeviceFlags } from './args.ts';
import { writeFileAtomic } from './files.ts';
import { goldenUnits } from './golden.ts';
import { projectRoots } from './serve.ts';

export const DOCTOR_HELP = `usage: sgas doctor [--json] [--out FILE] [--adapter INDEX|TEXT] [--golden DIR] [--no-search]

For every WebGPU adapter here (or the one --adapter names): every golden case, with the largest
error per op and per WGSL kernel family; the tiny preset's search (seed ${SMOKE_SEED}), whose genotype must
equal WebAssembly's; a few ops timed; and the kernel variants the autotune picks on it. --json prints
the cross-vendor report (format sgas-doctor-v1, see the README). Exit 0 when every case passes and
every genotype agrees, 1 otherwise.
  --out FILE     also write the JSON report to FILE (to attach to an issue)
  --golden DIR   golden files to run (default: the repo's test/golden)
  --no-search    leave the tiny search out (a quicker check)
`;

/** The ops and shape the doctor times: a separable and a dilated convolution and a pool. */
const TIMED_OPS: OpName[] = ['sep_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3'];
const TIMED_SHAPE: Shape = { N: 8, C: 16, H: 16, W: 16 };
const TIMING_RUNS = 3;

export interface ErrorSummary {
  tensors: number;
  failed: number;
  maxAbs: number;
  maxRel: number;
}

export interface GoldenSummary {
  passed: number;
  failed: number;
  seconds: number;
  /** By the op (or block, or file kind) a case checks. */
  ops: Record<string, ErrorSummary>;
  /**
   * By WGSL kernel family (shaders/<family>.wgsl): over the per-op cases (primitives, blocks,
   * MixedOp; all at atol 1e-5, rtol 1e-4) that ran one of its kernels.
   */
  families: Record<string, ErrorSummary>;
  failures: string[];
}

export interface SearchSummary {
  seed: number;
  genotype: SearchReport['genotype'];
  python: string;
  seconds: number;
  /** Whether the genotype is WebAssembly's (null when WebAssembly did not run). */
  sameAsWasm: boolean | null;
}

export interface OpTiming {
  op: string;
  shape: string;
  /** Milliseconds, the best of the runs after a warm-up. */
  forwardMs: number;
  forwardBackwardMs: number;
}

export interface BackendReport {
  golden?: GoldenSummary;
  search?: SearchSummary;
  ops: OpTiming[];
  /** WebGPU: the kernel variants the autotune chose at the timed ops' shapes (ms empty: read from the store). */
  kernels?: Pick<TunedKernel, 'kernel' | 'chosen' | 'ms'>[];
  /** Why the checks stopped, if they did. */
  error?: string;
}

export interface AdapterReport extends AdapterSummary, BackendReport {
  name: string;
}

export interface DoctorReport {
  format: 'sgas-doctor-v1';
  date: string;
  node: string;
  platform: string;
  adapters: AdapterReport[];
  wasm: BackendReport;
  /** Every golden case passed on every adapter, and every genotype equals WebAssembly's. */
  ok: boolean;
}

/** The backend, forwarded to, with the WGSL kernel families its run() calls name recorded. */
function recordFamilies(backend: Backend): { backend: Backend; families: Set<string> } {
  const families = new Set<string>();
  const recorded: Backend = {
    name: backend.name,
    capacity: backend.capacity,
    alloc: (length) => backend.alloc(length),
    release: (storage) => backend.release(storage),
    write: (storage, data, offset) => backend.write(storage, data, offset),
    read: (storage) => backend.read(storage),
    sync: () => backend.sync(),
    memory: () => backend.memory(),
    run: (call: KernelCall) => {
      families.add(call.kernel.split('/')[0]!);
      backend.run(call);
    },
  };
  return { backend: recorded, families };
}

function addTo(summaries: Record<string, ErrorSummary>, key: string, results: TensorResult[]): void {
  const s = (summaries[key] ??= { tensors: 0, failed: 0, maxAbs: 0, maxRel: 0 });
  for (const r of results) {
    s.tensors++;
    if (!r.pass) s.failed++;
    if (Number.isFinite(r.maxAbs)) s.maxAbs = Math.max(s.maxAbs, r.maxAbs);
    if (Number.isFinite(r.maxRel)) s.maxRel = Math.max(s.maxRel, r.maxRel);
  }
}

/** The per-op golden kinds, whose cases run one at a time (the others, edge decisions and networks, a file at once). */
const OP_KINDS = ['primitives', 'blocks', 'mixedop'];

/** Every golden case, one at a time (a network set at once), each attributed to its op and to the kernel families it ran. */
async function checkGolden(backend: Backend, dir: string): Promise<GoldenSummary> {
  const started = performance.now();
  const summary: GoldenSummary = { passed: 0, failed: 0, seconds: 0, ops: {}, families: {}, failures: [] };
  for (const { path, file, golden, readSibling } of goldenUnits(dir)) {
    const cases = OP_KINDS.includes(golden.kind) ? (golden.cases as { op?: string }[]) : [null];
    for (const c of cases) {
      const { backend: recorded, families } = recordFamilies(backend);
      const results = await runGolden(recorded, c ? { ...golden, cases: [c] } : golden, path, readSibling);
      addTo(summary.ops, c ? c.op ?? golden.kind : golden.kind.replace(/_weights$/, ''), results);
      if (c) for (const family of families) addTo(summary.families, family, results);
      for (const r of results) {
        if (r.pass) summary.passed++;
        else summary.failed++;
        if (!r.pass) summary.failures.push(`${file} ${r.caseName} ${r.tensor}${r.error ? `: ${r.error}` : ''}`);
      }
    }
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

async function timeOps(backend: Backend): Promise<OpTiming[]> {
  const timings: OpTiming[] = [];
  for (const op of TIMED_OPS) {
    const runs = opRuns(backend, op, TIMED_SHAPE, 1);
    const best = async (run: () => Promise<void>) => {
      await run();
      let ms = Infinity;
      for (let i = 0; i < TIMING_RUNS; i++) {
        const start = performance.now();
        await run();
        ms = Math.min(ms, performance.now() - start);
      }
      return ms;
    };
    try {
      const { N, C, H, W } = TIMED_SHAPE;
      timings.push({ op, shape: `${N}x${C}x${H}x${W}`, forwardMs: await best(runs.forward), forwardBackwardMs: await best(runs.forwardBackward) });
    } finally {
      runs.release();
    }
  }
  return timings;
}

interface Checks {
  goldenDir: string;
  search: boolean;
}

/**
 * The checks on one backend, with the kernels a run there would use (--kernels auto); the ops are
 * timed autotuned, and the autotune's choices at their shapes reported. A failure stops the checks
 * and is reported; it does not stop the doctor.
 */
async function checkBackend(backend: Backend, checks: Checks, wasmGenotype: SearchReport['genotype'] | null): Promise<BackendReport> {
  const report: BackendReport = { ops: [] };
  try {
    report.golden = await checkGolden(backend, checks.goldenDir);
    if (checks.search) {
      const started = performance.now();
      const { genotype, python } = resultReport(await tinySearch(backend, loadDataset(undefined, 'train'), SMOKE_SEED));
      report.search = {
        seed: SMOKE_SEED, genotype, python, seconds: (performance.now() - started) / 1000,
        sameAsWasm: wasmGenotype ? JSON.stringify(genotype) === JSON.stringify(wasmGenotype) : null,
      };
    }
    const webgpu = 'autotune' in backend ? (backend as WebGpuBackend) : null;
    const tuner = webgpu ? webgpu.tuner ?? (await webgpu.autotune(null)) : null;
    const before = tuner?.tuned.length ?? 0;
    report.ops = await timeOps(backend);
    if (tuner) report.kernels = tuner.tuned.slice(before).map(({ kernel, chosen, ms }) => ({ kernel, chosen, ms }));
  } catch (e) {
    report.error = (e as Error).message.split('\n')[0];
  }
  return report;
}

async function checkAdapter(adapter: AdapterSummary, checks: Checks, wasmGenotype: SearchReport['genotype'] | null): Promise<AdapterReport> {
  const base = { ...adapter, name: adapterName(adapter) };
  let backend: WebGpuBackend;
  try {
    backend = await createWebGpuBackend({ adapter: String(adapter.index), kernels: 'auto' });
  } catch (e) {
    return { ...base, ops: [], error: (e as Error).message.split('\n')[0] };
  }
  try {
    return { ...base, ...(await checkBackend(backend, checks, wasmGenotype)) };
  } finally {
    backend.destroy();
  }
}

const exp = (v: number) => v.toExponential(1);

function textReport(r: DoctorReport): string {
  const lines: string[] = [`sgas doctor: ${r.platform}, Node ${r.node}`];
  const describe = (label: string, b: BackendReport, extra: string[] = []) => {
    lines.push(label);
    if (b.golden) {
      const g = b.golden;
      const families = Object.entries(g.families).sort(([a], [b]) => a.localeCompare(b)).map(([f, s]) => `${f} ${exp(s.maxAbs)}${s.failed ? ' FAIL' : ''}`);
      lines.push(`  golden: ${g.passed} passed, ${g.failed} failed (${g.seconds.toFixed(1)} s); largest abs. error by kernel family: ${families.join(', ')}`);
      for (const f of g.failures.slice(0, 10)) lines.push(`    FAIL ${f}`);
    }
    if (b.search) {
      const same = b.search.sameAsWasm === null ? '' : b.search.sameAsWasm ? ', the same as on WebAssembly' : ', NOT the genotype WebAssembly finds';
      lines.push(`  tiny search (seed ${b.search.seed}, ${b.search.seconds.toFixed(1)} s)${same}: ${b.search.python}`);
    }
    if (b.ops.length) lines.push(`  ops at N×C×H×W ${b.ops[0]!.shape.replaceAll('x', '×')}, ms forward / forward+backward: ${b.ops.map((o) => `${o.op} ${o.forwardMs.toFixed(1)} / ${o.forwardBackwardMs.toFixed(1)}`).join(', ')}`);
    lines.push(...extra);
    if (b.error) lines.push(`  ERROR: ${b.error}`);
  };
  describe('WebAssembly (the reference)', r.wasm);
  for (const a of r.adapters) {
    const kernels = (a.kernels ?? []).map((k) => `${k.kernel} ${k.chosen}${k.ms.plain && k.ms.tiled ? ` (plain ${k.ms.plain.toFixed(2)}, tiled ${k.ms.tiled.toFixed(2)} ms)` : ''}`);
    describe(`[${a.index}] ${a.name}`, a, kernels.length ? [`  autotune at those shapes: ${kernels.join(', ')}`] : []);
  }
  lines.push(r.ok ? `doctor: all golden cases pass on ${r.adapters.length} adapter${r.adapters.length === 1 ? '' : 's'}${r.wasm.search ? ', one genotype everywhere' : ''}` : 'doctor: PROBLEMS above');
  return lines.join('\n');
}

export async function doctorCommand(argv: string[], device: DeviceFlags): Promise<number> {
  const { values } = parseFlags('doctor', argv, {
    json: { type: 'boolean' }, out: { type: 'string' }, golden: { type: 'string' }, 'no-search': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const checks: Checks = { goldenDir: values.golden ?? projectRoots().golden, search: !values['no-search'] };
  goldenUnits(checks.goldenDir);
  const all = await listAdapters();
  const adapters = device.adapter === undefined ? all : [chooseAdapter(all, device.adapter)];
  const progress = (line: string) => values.json || process.stderr.write(`${line}\n`);

  progress('doctor: WebAssembly (the reference)');
  const wasm = await createWasmBackend();
  let wasmReport: BackendReport;
  try {
    wasmReport = await checkBackend(wasm, checks, null);
  } finally {
    wasm.destroy();
  }
  const reports: AdapterReport[] = [];
  for (const adapter of adapters) {
    progress(`doctor: [${adapter.index}] ${adapterName(adapter)}`);
    reports.push(await checkAdapter(adapter, checks, wasmReport.search?.genotype ?? null));
  }
  const clean = (b: BackendReport) => !b.error && b.golden?.failed === 0 && b.search?.sameAsWasm !== false;
  const report: DoctorReport = {
    format: 'sgas-doctor-v1', date: new Date().toISOString(), node: process.version, platform: `${platform()} ${arch()}`,
    adapters: reports, wasm: wasmReport, ok: clean(wasmReport) && reports.every(clean),
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  if (values.out) writeFileAtomic(values.out, json);
  process.stdout.write(values.json ? json : textReport(report) + '\n');
  return report.ok ? 0 : 1;
}
