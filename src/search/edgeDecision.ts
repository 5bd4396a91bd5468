// SGAS greedy edge decision (SGAS.md §2.7; train_search.py edge_decision + model_search.py
// check_edges). Plain float64 arithmetic on the 14×8 alphas of one cell type; the reference ran
// in float32, which only moves the statistics in the 7th digit.

import { NUM_EDGES, STEPS, edgeRange } from './space.ts';

/**
 * Decision state of one cell type, JSON-serialisable so it can live in a checkpoint.
 * selectedIdxs: -1 undecided, 0 pruned ('none'), 1..7 the op chosen for the edge.
 * history: the last historySize selection distributions ([14][7] each, oldest first; Cri.2 only).
 */
export interface DecisionState {
  selectedIdxs: number[];
  candidateFlags: boolean[];
  history: number[][][];
}

export interface DecisionConfig {
  /** false = Criterion 1 (importance·certainty), true = Criterion 2 (·stability). */
  useHistory: boolean;
  warmupDecEpoch: number;
  decisionFreq: number;
  historySize: number;
}

/** train_search.py defaults (SGAS.md §2.1). */
export const DEFAULT_DECISION_CONFIG: DecisionConfig = {
  useHistory: false,
  warmupDecEpoch: 9,
  decisionFreq: 5,
  historySize: 4,
};

export interface EdgeStats {
  softmax: number[][];
  importance: number[];
  probs: number[][];
  entropy: number[];
  certainty: number[];
  histInter: number[];
  normImportance: number[];
  normCertainty: number[];
  normHistInter: number[];
  scoreCri1: number[];
  scoreCri2: number[];
  /** The score of the criterion in use. */
  score: number[];
}

export interface EdgeDecision {
  stats: EdgeStats;
  isDecision: boolean;
  selectedEdge: number | null;
  selectedOp: number | null;
  state: DecisionState;
}

// torch.distributions clamps probabilities to [eps, 1 - eps] (float32 eps) before taking the log.
const FLOAT32_EPS = 1.1920928955078125e-7;

export function initialDecisionState(): DecisionState {
  return {
    selectedIdxs: new Array<number>(NUM_EDGES).fill(-1),
    candidateFlags: new Array<boolean>(NUM_EDGES).fill(true),
    history: [],
  };
}

const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/** Index of the largest value, the first one on ties (torch.argmax). */
export function argmaxFirst(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export function rowSoftmax(alphas: readonly (readonly number[])[]): number[][] {
  return alphas.map((row) => {
    const max = Math.max(...row);
    const exps = row.map((a) => Math.exp(a - max));
    const total = sum(exps);
    return exps.map((e) => e / total);
  });
}

/** Eq. (1) of the paper: the mass an edge puts on non-zero ops, 1 − P[e, none]. */
export function edgeImportance(softmax: readonly (readonly number[])[]): number[] {
  return softmax.map((row) => sum(row.slice(1)));
}

/** The 7-way distribution over the non-'none' ops of each edge. */
export function selectionProbs(softmax: readonly (readonly number[])[]): number[][] {
  return softmax.map((row) => {
    const rest = row.slice(1);
    const importance = sum(rest);
    return rest.map((p) => p / importance);
  });
}

/** Entropy of each row divided by ln(#ops), computed like torch Categorical(probs).entropy(). */
export function selectionEntropy(probs: readonly (readonly number[])[]): number[] {
  return probs.map((row) => {
    const total = sum(row);
    let h = 0;
    for (const raw of row) {
      const p = raw / total;
      h -= p * Math.log(Math.min(Math.max(p, FLOAT32_EPS), 1 - FLOAT32_EPS));
    }
    return h / Math.log(row.length);
  });
}

/** Eq. (2): 1 − normalised entropy of the selection distribution. */
export function selectionCertainty(probs: readonly (readonly number[])[]): number[] {
  return selectionEntropy(probs).map((h) => 1 - h);
}

/** Eq. (4): histogram intersection with each past distribution, averaged; zeros without history. */
export function selectionStability(
  probs: readonly (readonly number[])[],
  history: readonly (readonly (readonly number[])[])[],
): number[] {
  return probs.map((row, e) => {
    if (history.length === 0) return 0;
    let total = 0;
    for (const past of history) {
      row.forEach((p, k) => (total += Math.min(past[e]![k]!, p)));
    }
    return total / history.length;
  });
}

/** Min-max over all edges (decided ones included, as in the reference); zeros if flat. */
export function normalize(v: readonly number[]): number[] {
  const min = Math.min(...v);
  const range = Math.max(...v) - min;
  return range > 0 ? v.map((x) => (x - min) / range) : v.map(() => 0);
}

const product = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x * b[i]!);

/** Criterion 1: normalize(importance) · normalize(certainty). */
export function criterion1Score(importance: readonly number[], certainty: readonly number[]): number[] {
  return product(normalize(importance), normalize(certainty));
}

/** Criterion 2: criterion 1 · normalize(stability). */
export function criterion2Score(
  importance: readonly number[],
  certainty: readonly number[],
  stability: readonly number[],
): number[] {
  return product(criterion1Score(importance, certainty), normalize(stability));
}

/** Every quantity edge_decision computes; stability uses the history before this epoch. */
export function edgeStats(
  alphas: readonly (readonly number[])[],
  history: readonly (readonly (readonly number[])[])[],
  useHistory: boolean,
): EdgeStats {
  const softmax = rowSoftmax(alphas);
  const importance = edgeImportance(softmax);
  const probs = selectionProbs(softmax);
  const entropy = selectionEntropy(probs);
  const certainty = entropy.map((h) => 1 - h);
  const histInter = selectionStability(probs, history);
  const scoreCri1 = criterion1Score(importance, certainty);
  const scoreCri2 = criterion2Score(importance, certainty, histInter);
  return {
    softmax,
    importance,
    probs,
    entropy,
    certainty,
    histInter,
    normImportance: normalize(importance),
    normCertainty: normalize(certainty),
    normHistInter: normalize(histInter),
    scoreCri1,
    scoreCri2,
    score: useHistory ? scoreCri2 : scoreCri1,
  };
}

export function isDecisionEpoch(candidateFlags: readonly boolean[], epoch: number, config: DecisionConfig): boolean {
  return (
    candidateFlags.some((f) => f) &&
    epoch >= config.warmupDecEpoch &&
    (epoch - config.warmupDecEpoch) % config.decisionFreq === 0
  );
}

/** check_edges: a node with 2 decided incoming edges prunes ('none') all its other candidates. */
export function pruneCompletedNodes(
  candidateFlags: readonly boolean[],
  selectedIdxs: readonly number[],
): { candidateFlags: boolean[]; selectedIdxs: number[] } {
  const flags = [...candidateFlags];
  const idxs = [...selectedIdxs];
  for (let node = 0; node < STEPS; node++) {
    const { start, end } = edgeRange(node);
    const decided = flags.slice(start, end).filter((f) => !f).length;
    if (decided < 2) continue;
    for (let e = start; e < end; e++) {
      if (flags[e]) {
        flags[e] = false;
        idxs[e] = 0;
      }
    }
  }
  return { candidateFlags: flags, selectedIdxs: idxs };
}

/**
 * One edge_decision call for one cell type at the end of `epoch`: on a decision epoch the
 * best-scoring candidate edge (first on ties) takes its most likely non-'none' op and is
 * frozen, then check_edges prunes completed nodes. Cri.2 appends this epoch's distribution
 * to the history every epoch, decision or not. The input state is left untouched.
 */
export function decideEdge(
  state: DecisionState,
  alphas: readonly (readonly number[])[],
  epoch: number,
  config: DecisionConfig,
): EdgeDecision {
  const stats = edgeStats(alphas, state.history, config.useHistory);
  const grown = config.useHistory ? [...state.history, stats.probs] : state.history;
  const history = grown.slice(Math.max(0, grown.length - config.historySize));

  if (!isDecisionEpoch(state.candidateFlags, epoch, config)) {
    const unchanged = { selectedIdxs: [...state.selectedIdxs], candidateFlags: [...state.candidateFlags], history };
    return { stats, isDecision: false, selectedEdge: null, selectedOp: null, state: unchanged };
  }

  // The reference masks non-candidates to −∞ and takes the first argmax.
  let edge = -1;
  state.candidateFlags.forEach((candidate, e) => {
    if (candidate && (edge < 0 || stats.score[e]! > stats.score[edge]!)) edge = e;
  });
  const op = argmaxFirst(stats.probs[edge]!) + 1;
  const flags = [...state.candidateFlags];
  const idxs = [...state.selectedIdxs];
  flags[edge] = false;
  idxs[edge] = op;
  const pruned = pruneCompletedNodes(flags, idxs);
  return { stats, isDecision: true, selectedEdge: edge, selectedOp: op, state: { ...pruned, history } };
}
