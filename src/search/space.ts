// The SGAS/DARTS CNN cell search space (SGAS.md §1): a cell has 2 inputs and STEPS
// intermediate nodes; node i takes one edge from each of the 2 + i earlier states, so the
// edges are numbered node by node: node0 = 0,1; node1 = 2..4; node2 = 5..8; node3 = 9..13.

/** Candidate operations; the index of a name is its op index everywhere (alphas, selected_idxs). */
export const PRIMITIVES = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;

export type OpName = (typeof PRIMITIVES)[number];
export type CellType = 'normal' | 'reduce';

export const NUM_OPS = PRIMITIVES.length;
export const STEPS = 4;
export const NUM_EDGES = edgeOffset(STEPS);

export function isOpName(name: string): name is OpName {
  return (PRIMITIVES as readonly string[]).includes(name);
}

export function opIndex(name: OpName): number {
  return PRIMITIVES.indexOf(name);
}

/** Index of the first edge into `node`: 2 + 3 + ... + (node + 1) = node(node+3)/2. */
export function edgeOffset(node: number): number {
  return (node * (node + 3)) / 2;
}

/** Edges into `node` as a half-open range [start, end). */
export function edgeRange(node: number): { start: number; end: number } {
  return { start: edgeOffset(node), end: edgeOffset(node + 1) };
}

export function nodeOfEdge(edge: number): number {
  if (!Number.isInteger(edge) || edge < 0 || edge >= NUM_EDGES) {
    throw new Error(`edge ${edge} is outside 0..${NUM_EDGES - 1}`);
  }
  let node = 0;
  while (edgeOffset(node + 1) <= edge) node++;
  return node;
}

/** Which state the edge reads: 0 = s0 (cell input k-2), 1 = s1 (input k-1), 2 + i = node i. */
export function inputIndex(edge: number): number {
  return edge - edgeOffset(nodeOfEdge(edge));
}

/** Reduction cells halve the resolution on the edges that read the two cell inputs. */
export function isStrided(edge: number, reduction: boolean): boolean {
  return reduction && inputIndex(edge) < 2;
}

/** Reductions at ⌊L/3⌋ and ⌊2L/3⌋ of a network of L cells (for L = 3 both cells 1 and 2 reduce). */
export function isReductionLayer(i: number, layers: number): boolean {
  return i === Math.floor(layers / 3) || i === Math.floor((2 * layers) / 3);
}
