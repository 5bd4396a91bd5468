import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decideEdge,
  initialDecisionState,
  normalize,
  pruneCompletedNodes,
  selectionCertainty,
  type DecisionConfig,
  type DecisionState,
  type EdgeStats,
} from '../src/search/edgeDecision.ts';
import { genotypeFromGenes, parseGene } from '../src/search/genotype.ts';
import { PRIMITIVES, NUM_EDGES, edgeRange, inputIndex, isStrided, nodeOfEdge } from '../src/search/space.ts';

interface Tensor {
  shape: number[];
  data: number[];
}

interface GoldenCase {
  name: string;
  use_history: boolean;
  epoch: number;
  warmup_dec_epoch: number;
  decision_freq: number;
  history_size: number;
  inputs: { alphas: Tensor; history?: Tensor[]; candidate_flags: boolean[]; selected_idxs: number[] };
  expected: {
    stats: Record<string, Tensor>;
    is_decision: boolean;
    selected_edge: number | null;
    selected_op: number | null;
    selected_op_name: string | null;
    candidate_flags: boolean[];
    selected_idxs: number[];
    history_after: Tensor[];
  };
}

interface TrajectoryEpoch {
  epoch: number;
  alphas: Tensor;
  score: Tensor;
  is_decision: boolean;
  selected_edge: number | null;
  selected_op: number | null;
  candidate_flags: boolean[];
  selected_idxs: number[];
}

interface GoldenTrajectory {
  name: string;
  use_history: boolean;
  warmup_dec_epoch: number;
  decision_freq: number;
  history_size: number;
  epochs: number;
  normal: TrajectoryEpoch[];
  reduce: TrajectoryEpoch[];
  final_genotype: { normal: [string, number][]; normal_concat: number[]; reduce: [string, number][]; reduce_concat: number[] };
}

const golden = JSON.parse(
  readFileSync(new URL('./golden/edge_decision.json', import.meta.url), 'utf8'),
) as { cases: GoldenCase[]; trajectories: GoldenTrajectory[] };

const TOL = 1e-5;

function rows(t: Tensor): number[][] {
  const [n, m] = t.shape as [number, number];
  return Array.from({ length: n }, (_, i) => t.data.slice(i * m, (i + 1) * m));
}

function assertClose(actual: number[] | number[][], expected: Tensor, what: string): void {
  const flat = actual.flat();
  assert.equal(flat.length, expected.data.length, `${what}: length`);
  flat.forEach((v, i) => {
    const diff = Math.abs(v - expected.data[i]!);
    assert.ok(diff <= TOL, `${what}[${i}]: got ${v}, expected ${expected.data[i]} (|diff| ${diff})`);
  });
}

function configOf(g: { use_history: boolean; warmup_dec_epoch: number; decision_freq: number; history_size: number }): DecisionConfig {
  return {
    useHistory: g.use_history,
    warmupDecEpoch: g.warmup_dec_epoch,
    decisionFreq: g.decision_freq,
    historySize: g.history_size,
  };
}

const STAT_NAMES: Record<string, keyof EdgeStats> = {
  softmax: 'softmax',
  importance: 'importance',
  probs: 'probs',
  entropy: 'entropy',
  certainty: 'certainty',
  hist_inter: 'histInter',
  norm_importance: 'normImportance',
  norm_certainty: 'normCertainty',
  norm_hist_inter: 'normHistInter',
  score_cri1: 'scoreCri1',
  score_cri2: 'scoreCri2',
  score: 'score',
};

test('space: edge numbering of the 4-node cell', () => {
  assert.equal(NUM_EDGES, 14);
  assert.deepEqual([0, 1, 2, 3].map(edgeRange), [
    { start: 0, end: 2 },
    { start: 2, end: 5 },
    { start: 5, end: 9 },
    { start: 9, end: 14 },
  ]);
  assert.deepEqual([0, 1, 2, 4, 5, 8, 9, 13].map(nodeOfEdge), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual([0, 1, 2, 4, 5, 8, 9, 13].map(inputIndex), [0, 1, 0, 2, 0, 3, 0, 4]);
  assert.deepEqual(
    Array.from({ length: 14 }, (_, e) => isStrided(e, true)),
    [true, true, true, true, false, true, true, false, false, true, true, false, false, false],
  );
  assert.ok(!isStrided(0, false));
});

test('selectionCertainty: one-hot rows are fully certain, uniform rows not at all', () => {
  const [oneHot, uniform] = selectionCertainty([
    [1, 0, 0, 0, 0, 0, 0],
    new Array(7).fill(1 / 7),
  ]);
  assert.ok(Math.abs(oneHot! - 1) < 1e-5);
  assert.ok(Math.abs(uniform!) < 1e-12);
});

test('normalize: flat vectors become zeros', () => {
  assert.deepEqual(normalize([3, 3, 3]), [0, 0, 0]);
  assert.deepEqual(normalize([1, 3, 2]), [0, 1, 0.5]);
});

test('pruneCompletedNodes: a node with two decided edges drops its remaining candidates', () => {
  const flags = new Array<boolean>(14).fill(true);
  const idxs = new Array<number>(14).fill(-1);
  flags[2] = flags[4] = false;
  idxs[2] = 4;
  idxs[4] = 1;
  const pruned = pruneCompletedNodes(flags, idxs);
  assert.equal(pruned.candidateFlags[3], false);
  assert.equal(pruned.selectedIdxs[3], 0);
  assert.deepEqual(pruned.selectedIdxs.slice(0, 5), [-1, -1, 4, 0, 1]);
  assert.equal(flags[3], true, 'input not modified');
});

for (const c of golden.cases) {
  test(`edge_decision case ${c.name}`, () => {
    const state: DecisionState = {
      selectedIdxs: c.inputs.selected_idxs,
      candidateFlags: c.inputs.candidate_flags,
      history: (c.inputs.history ?? []).map(rows),
    };
    const before = JSON.stringify(state);
    const result = decideEdge(state, rows(c.inputs.alphas), c.epoch, configOf(c));
    const e = c.expected;

    for (const [key, name] of Object.entries(STAT_NAMES)) assertClose(result.stats[name], e.stats[key]!, key);
    assert.equal(result.isDecision, e.is_decision);
    assert.equal(result.selectedEdge, e.selected_edge);
    assert.equal(result.selectedOp, e.selected_op);
    if (e.selected_op !== null) assert.equal(PRIMITIVES[e.selected_op], e.selected_op_name);
    assert.deepEqual(result.state.candidateFlags, e.candidate_flags);
    assert.deepEqual(result.state.selectedIdxs, e.selected_idxs);
    assert.equal(result.state.history.length, e.history_after.length);
    result.state.history.forEach((h, i) => assertClose(h, e.history_after[i]!, `history_after[${i}]`));
    assert.equal(JSON.stringify(state), before, 'decideEdge must not modify its input state');
  });
}

for (const t of golden.trajectories) {
  test(`edge_decision trajectory ${t.name}: replay of ${t.epochs} epochs`, () => {
    const config = configOf(t);
    const finalIdxs = { normal: [] as number[], reduce: [] as number[] };
    for (const cell of ['normal', 'reduce'] as const) {
      let state = initialDecisionState();
      assert.equal(t[cell].length, t.epochs);
      for (const step of t[cell]) {
        const result = decideEdge(state, rows(step.alphas), step.epoch, config);
        const at = `${cell} epoch ${step.epoch}`;
        // Scores are compared where they decide something. Elsewhere the reference's float32
        // rounding can dominate: near-uniform alphas in the first epochs leave every factor
        // nearly flat, and once every edge is frozen the Cri.2 history repeats itself, so
        // hist_inter is flat up to rounding and normalize() stretches that noise to [0, 1].
        if (step.is_decision) assertClose(result.stats.score, step.score, `${at} score`);
        assert.equal(result.isDecision, step.is_decision, `${at} is_decision`);
        assert.equal(result.selectedEdge, step.selected_edge, `${at} selected_edge`);
        assert.equal(result.selectedOp, step.selected_op, `${at} selected_op`);
        assert.deepEqual(result.state.candidateFlags, step.candidate_flags, `${at} candidate_flags`);
        assert.deepEqual(result.state.selectedIdxs, step.selected_idxs, `${at} selected_idxs`);
        assert.ok(result.state.history.length <= (config.useHistory ? config.historySize : 0));
        // The state is a checkpoint: it must survive a JSON round trip unchanged.
        state = JSON.parse(JSON.stringify(result.state)) as DecisionState;
      }
      finalIdxs[cell] = state.selectedIdxs;
    }
    const genotype = genotypeFromGenes(parseGene(finalIdxs.normal, 'normal'), parseGene(finalIdxs.reduce, 'reduce'));
    assert.deepEqual(genotype, {
      normal: t.final_genotype.normal,
      normalConcat: t.final_genotype.normal_concat,
      reduce: t.final_genotype.reduce,
      reduceConcat: t.final_genotype.reduce_concat,
    });
  });
}
