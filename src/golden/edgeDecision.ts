// The `edge_decision` golden kind: single edge_decision calls (statistics to 1e-5, decisions
// exactly) and whole 50-epoch trajectories replayed from an empty state (decisions exactly).
import { decideEdge, initialDecisionState, type DecisionConfig, type DecisionState, type EdgeStats } from '../search/edgeDecision.ts';
import { genotypeFromGenes, genotypeToPython, parseGene } from '../search/genotype.ts';
import { compare } from './compare.ts';
import type { GoldenTensor } from './goldenFile.ts';
import type { KindRunner, TensorResult } from './runner.ts';

interface Settings {
  use_history: boolean;
  warmup_dec_epoch: number;
  decision_freq: number;
  history_size: number;
}

interface SingleCase extends Settings {
  name: string;
  epoch: number;
  inputs: { alphas: GoldenTensor; history?: GoldenTensor[]; candidate_flags: boolean[]; selected_idxs: number[] };
  expected: {
    stats: Record<string, GoldenTensor>;
    is_decision: boolean;
    selected_edge: number | null;
    selected_op: number | null;
    candidate_flags: boolean[];
    selected_idxs: number[];
    history_after?: GoldenTensor[];
  };
}

interface TrajectoryEpoch {
  epoch: number;
  alphas: GoldenTensor;
  score: GoldenTensor;
  is_decision: boolean;
  selected_edge: number | null;
  selected_op: number | null;
  candidate_flags: boolean[];
  selected_idxs: number[];
}

interface Trajectory extends Settings {
  name: string;
  epochs: number;
  normal: TrajectoryEpoch[];
  reduce: TrajectoryEpoch[];
  final_genotype: { normal: [string, number][]; normal_concat: number[]; reduce: [string, number][]; reduce_concat: number[] };
}

const STAT_NAMES: Record<string, keyof EdgeStats> = {
  softmax: 'softmax', importance: 'importance', probs: 'probs', entropy: 'entropy', certainty: 'certainty',
  hist_inter: 'histInter', norm_importance: 'normImportance', norm_certainty: 'normCertainty',
  norm_hist_inter: 'normHistInter', score_cri1: 'scoreCri1', score_cri2: 'scoreCri2', score: 'score',
};

const STATS_ATOL = 1e-5;

const config = (s: Settings): DecisionConfig => ({
  useHistory: s.use_history, warmupDecEpoch: s.warmup_dec_epoch, decisionFreq: s.decision_freq, historySize: s.history_size,
});

export const rows = (t: GoldenTensor): number[][] => {
  const cols = t.shape[t.shape.length - 1]!;
  return Array.from({ length: t.data.length / cols }, (_, i) => t.data.slice(i * cols, (i + 1) * cols));
};

/** One line for a set of values that must match exactly (decisions, flags, indices). */
function exact(file: string, caseName: string, tensor: string, got: unknown, want: unknown): TensorResult {
  const pass = JSON.stringify(got) === JSON.stringify(want);
  return { file, caseName, tensor, maxAbs: pass ? 0 : Infinity, maxRel: pass ? 0 : Infinity, pass, ...(pass ? {} : { error: `got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}` }) };
}

function close(file: string, caseName: string, tensor: string, got: number[], want: number[]): TensorResult {
  const { maxAbs, maxRel, pass } = compare(got, want, STATS_ATOL, 0);
  return { file, caseName, tensor, maxAbs, maxRel, pass };
}

function runSingle(file: string, c: SingleCase): TensorResult[] {
  const state: DecisionState = {
    selectedIdxs: c.inputs.selected_idxs, candidateFlags: c.inputs.candidate_flags, history: (c.inputs.history ?? []).map(rows),
  };
  const d = decideEdge(state, rows(c.inputs.alphas), c.epoch, config(c));
  const out: TensorResult[] = [];
  for (const [name, want] of Object.entries(c.expected.stats)) {
    const key = STAT_NAMES[name];
    if (!key) continue;
    out.push(close(file, c.name, `stats.${name}`, (d.stats[key] as number[] | number[][]).flat(), want.data));
  }
  const e = c.expected;
  out.push(exact(file, c.name, 'decision', [d.isDecision, d.selectedEdge, d.selectedOp], [e.is_decision, e.selected_edge, e.selected_op]));
  out.push(exact(file, c.name, 'candidate_flags', d.state.candidateFlags, e.candidate_flags));
  out.push(exact(file, c.name, 'selected_idxs', d.state.selectedIdxs, e.selected_idxs));
  if (c.use_history && e.history_after) {
    out.push(close(file, c.name, 'history_after', d.state.history.flat(2), e.history_after.flatMap((h) => h.data)));
  }
  return out;
}

function runTrajectory(file: string, t: Trajectory): TensorResult[] {
  const out: TensorResult[] = [];
  const finalIdxs: Record<'normal' | 'reduce', number[]> = { normal: [], reduce: [] };
  for (const type of ['normal', 'reduce'] as const) {
    let state = initialDecisionState();
    const mismatches: string[] = [];
    let worstScore = 0;
    for (const epoch of t[type]) {
      const d = decideEdge(state, rows(epoch.alphas), epoch.epoch, config(t));
      state = d.state;
      const got = [d.isDecision, d.selectedEdge, d.selectedOp, state.candidateFlags, state.selectedIdxs];
      const want = [epoch.is_decision, epoch.selected_edge, epoch.selected_op, epoch.candidate_flags, epoch.selected_idxs];
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`epoch ${epoch.epoch}`);
      // Off decision epochs the float32 reference's scores are rounding noise stretched by
      // min-max normalisation (flat factors), so only the scores that decide are compared.
      if (d.isDecision) worstScore = Math.max(worstScore, compare(d.stats.score, epoch.score.data, STATS_ATOL, 0).maxAbs);
    }
    finalIdxs[type] = state.selectedIdxs;
    out.push({
      file, caseName: t.name, tensor: `${type}.decisions`, maxAbs: mismatches.length ? Infinity : 0, maxRel: 0, pass: !mismatches.length,
      ...(mismatches.length ? { error: `state differs at ${mismatches.slice(0, 3).join(', ')}` } : {}),
    });
    out.push({ file, caseName: t.name, tensor: `${type}.decision_scores`, maxAbs: worstScore, maxRel: NaN, pass: worstScore <= STATS_ATOL });
  }
  let genotype = '';
  try {
    genotype = genotypeToPython(genotypeFromGenes(parseGene(finalIdxs.normal, 'normal'), parseGene(finalIdxs.reduce, 'reduce')));
  } catch (e) {
    genotype = (e as Error).message;
  }
  const f = t.final_genotype;
  const want = genotypeToPython(genotypeFromGenes(f.normal as never, f.reduce as never));
  out.push(exact(file, t.name, 'final_genotype', genotype, want));
  return out;
}

export const runEdgeDecision: KindRunner = async (_backend, golden, file) => [
  ...((golden.cases as SingleCase[] | undefined) ?? []).flatMap((c) => runSingle(file, c)),
  ...((golden.trajectories as Trajectory[] | undefined) ?? []).flatMap((t) => runTrajectory(file, t)),
];
