// Runs every case of a golden file and reports one line per stored tensor.
import type { Backend } from '../../runtime/index.ts';
import { blockForwards } from './blocks.ts';
import { runEdgeDecision } from './edgeDecision.ts';
import { runNetworkSet } from './network.ts';
import { compare } from './compare.ts';
import { f32, GoldenFileError, kindFamily, type GoldenHeader } from './goldenFile.ts';
import { runOpCase, type ForwardBuilder, type OpCase } from './opCases.ts';
import { cellBlockForwards, mixedOpForward, primitiveForwards } from './primitives.ts';

export interface TensorResult {
  file: string;
  caseName: string;
  tensor: string;
  maxAbs: number;
  maxRel: number;
  pass: boolean;
  /** Why a case could not run at all (then pass is false). */
  error?: string;
}

/** Reads the file that shares the golden file's stem with another suffix (network sets). */
export type ReadSibling = (suffix: string) => Promise<unknown>;

export type KindRunner = (
  backend: Backend, golden: GoldenHeader & Record<string, unknown>, file: string, readSibling: ReadSibling,
) => Promise<TensorResult[]>;

/** Forward builders by case op, for the per-op kinds; later layers add theirs. */
export const opForwards: Record<string, Record<string, ForwardBuilder>> = {
  blocks: { ...blockForwards, ...cellBlockForwards },
  primitives: primitiveForwards,
  mixedop: { mixedop: mixedOpForward },
};

async function runOpCases(backend: Backend, golden: GoldenHeader & Record<string, unknown>, file: string): Promise<TensorResult[]> {
  const results: TensorResult[] = [];
  for (const c of golden.cases as OpCase[]) {
    const forward = opForwards[golden.kind]?.[c.op ?? golden.kind];
    const failed = (error: string) => results.push({ file, caseName: c.name, tensor: '-', maxAbs: NaN, maxRel: NaN, pass: false, error });
    if (!forward) {
      failed(`no implementation for ${golden.kind} op '${c.op ?? golden.kind}'`);
      continue;
    }
    let got: Map<string, Float32Array>;
    try {
      got = await runOpCase(backend, c, forward);
    } catch (e) {
      failed((e as Error).message);
      continue;
    }
    for (const [group, tensors] of [['outputs', c.outputs], ['grads', c.grads]] as const) {
      for (const [name, want] of Object.entries(tensors)) {
        const tensor = `${group}.${name}`;
        const value = got.get(tensor);
        if (!value) {
          results.push({ file, caseName: c.name, tensor, maxAbs: NaN, maxRel: NaN, pass: false, error: 'not produced' });
          continue;
        }
        const { maxAbs, maxRel, pass } = compare(value, f32(want));
        results.push({ file, caseName: c.name, tensor, maxAbs, maxRel, pass });
      }
    }
  }
  return results;
}

export const kindRunners: Record<string, KindRunner> = {
  edge_decision: runEdgeDecision,
  network: (backend, golden, file, readSibling) => runNetworkSet(backend, golden as never, file, readSibling),
  primitives: runOpCases,
  blocks: runOpCases,
  mixedop: runOpCases,
};

export async function runGolden(
  backend: Backend, golden: GoldenHeader & Record<string, unknown>, file: string, readSibling: ReadSibling = noSiblings,
): Promise<TensorResult[]> {
  const runner = kindRunners[kindFamily(golden.kind)];
  if (!runner) throw new GoldenFileError(`${file}: kind '${golden.kind}' has no runner yet`);
  return runner(backend, golden, file, readSibling);
}

async function noSiblings(suffix: string): Promise<never> {
  throw new GoldenFileError(`no sibling file '*${suffix}' available here`);
}

export function formatResult(r: TensorResult): string {
  const status = r.pass ? 'PASS' : 'FAIL';
  if (r.error) return `${r.file}  ${r.caseName}  ${r.tensor}  ${status}  (${r.error})`;
  return `${r.file}  ${r.caseName}  ${r.tensor}  max_abs=${r.maxAbs.toExponential(2)}  max_rel=${r.maxRel.toExponential(2)}  ${status}`;
}
