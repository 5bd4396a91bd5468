// Genotypes: the discrete cells a search produces (SGAS.md §2.8, §3). Two (op, input) pairs per
// intermediate node, nodes in order; input 0 = s0, 1 = s1, 2 + i = node i.

import { PRIMITIVES, STEPS, edgeRange, isOpName, type CellType, type OpName } from './space.ts';
import { argmaxFirst, edgeImportance, rowSoftmax } from './edgeDecision.ts';

export type Gene = [OpName, number][];

export interface Genotype {
  normal: Gene;
  normalConcat: number[];
  reduce: Gene;
  reduceConcat: number[];
}

/** range(2, 6): every intermediate node feeds the cell output. */
export const CELL_CONCAT: readonly number[] = Array.from({ length: STEPS }, (_, i) => i + 2);

export function genotypeFromGenes(normal: Gene, reduce: Gene): Genotype {
  return { normal, normalConcat: [...CELL_CONCAT], reduce, reduceConcat: [...CELL_CONCAT] };
}

/** parse_gene: decided edges in order; pruned edges skipped; an undecided edge is an error. */
export function parseGene(selectedIdxs: readonly number[], cell: CellType): Gene {
  const gene: Gene = [];
  for (let node = 0; node < STEPS; node++) {
    const { start, end } = edgeRange(node);
    for (let e = start; e < end; e++) {
      const idx = selectedIdxs[e]!;
      if (idx === -1) {
        throw new Error(`${cell} edge ${e} (node ${node}, input ${e - start}) is still undecided (-1)`);
      }
      if (idx !== 0) gene.push([PRIMITIVES[idx]!, e - start]);
    }
  }
  return gene;
}

/**
 * parse_gene_force: the genotype the search would produce if it stopped now. Each node keeps its
 * decided edges and fills the remaining places with the candidates of highest importance
 * (first on ties), each taking the op with the largest alpha among the non-'none' ops.
 */
export function parseGeneForce(
  selectedIdxs: readonly number[],
  candidateFlags: readonly boolean[],
  alphas: readonly (readonly number[])[],
): Gene {
  const importance = edgeImportance(rowSoftmax(alphas));
  const gene: Gene = [];
  for (let node = 0; node < STEPS; node++) {
    const { start, end } = edgeRange(node);
    const edges = Array.from({ length: end - start }, (_, j) => start + j);
    const missing = 2 - edges.filter((e) => !candidateFlags[e]).length;
    const picked = edges
      .filter((e) => candidateFlags[e])
      .sort((a, b) => importance[b]! - importance[a]! || a - b)
      .slice(0, Math.max(0, missing));
    for (const e of edges) {
      const idx = selectedIdxs[e]!;
      const op = idx === -1 && picked.includes(e) ? argmaxFirst(alphas[e]!.slice(1)) + 1 : idx;
      if (op > 0) gene.push([PRIMITIVES[op]!, e - start]);
    }
  }
  return gene;
}

function concatToPython(concat: readonly number[]): string {
  const isRange = concat.length > 0 && concat.every((v, i) => v === concat[0]! + i);
  return isRange ? `range(${concat[0]}, ${concat[concat.length - 1]! + 1})` : `[${concat.join(', ')}]`;
}

function geneToPython(gene: Gene): string {
  return `[${gene.map(([op, input]) => `('${op}', ${input})`).join(', ')}]`;
}

/** The DARTS/SGAS genotypes.py literal. */
export function genotypeToPython(g: Genotype): string {
  return (
    `Genotype(normal=${geneToPython(g.normal)}, normal_concat=${concatToPython(g.normalConcat)}, ` +
    `reduce=${geneToPython(g.reduce)}, reduce_concat=${concatToPython(g.reduceConcat)})`
  );
}

/** JSON form with the Python field names, as written to genotype.json. */
export function genotypeToJson(g: Genotype): {
  normal: Gene;
  normal_concat: number[];
  reduce: Gene;
  reduce_concat: number[];
} {
  return { normal: g.normal, normal_concat: g.normalConcat, reduce: g.reduce, reduce_concat: g.reduceConcat };
}

/**
 * Reads a genotype from the Python literal `Genotype(normal=[...], normal_concat=range(2, 6), ...)`
 * (concat also as a list), from JSON `{"normal": [["sep_conv_3x3", 0], ...], ...}`, or from a
 * genotype.json object holding it under `genotype`. Throws a one-line error saying what is wrong
 * and where.
 */
export function parseGenotype(text: string): Genotype {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`genotype: invalid JSON: ${(err as Error).message}`);
    }
    return genotypeFromJson(value);
  }
  return genotypeFromFields(parsePythonGenotype(trimmed));
}

function genotypeFromJson(value: unknown): Genotype {
  if (!isRecord(value)) throw new Error('genotype: JSON must be an object with normal and reduce (or a genotype field)');
  if ('genotype' in value && !('normal' in value)) {
    const inner = value['genotype'];
    return typeof inner === 'string' ? parseGenotype(inner) : genotypeFromJson(inner);
  }
  return genotypeFromFields({
    normal: value['normal'],
    normal_concat: value['normal_concat'] ?? value['normalConcat'] ?? [...CELL_CONCAT],
    reduce: value['reduce'],
    reduce_concat: value['reduce_concat'] ?? value['reduceConcat'] ?? [...CELL_CONCAT],
  });
}

const FIELDS = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;

function genotypeFromFields(fields: Record<string, unknown>): Genotype {
  for (const name of Object.keys(fields)) {
    if (!(FIELDS as readonly string[]).includes(name)) throw new Error(`genotype: unknown field '${name}'`);
  }
  for (const name of FIELDS) {
    if (fields[name] === undefined) throw new Error(`genotype: missing field '${name}'`);
  }
  return {
    normal: validateGene(fields['normal'], 'normal'),
    normalConcat: validateConcat(fields['normal_concat'], 'normal'),
    reduce: validateGene(fields['reduce'], 'reduce'),
    reduceConcat: validateConcat(fields['reduce_concat'], 'reduce'),
  };
}

function validateGene(value: unknown, cell: CellType): Gene {
  const expected = 2 * STEPS;
  if (!Array.isArray(value)) throw new Error(`genotype ${cell}: must be a list of (op, input) pairs`);
  if (value.length !== expected) {
    throw new Error(`genotype ${cell}: has ${value.length} edges, expected ${expected} (2 per node, ${STEPS} nodes)`);
  }
  return value.map((pair: unknown, i) => {
    const node = Math.floor(i / 2);
    const where = `genotype ${cell} edge ${i} (node ${node})`;
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error(`${where}: must be an (op, input) pair`);
    const [op, input] = pair as unknown[];
    if (typeof op !== 'string') throw new Error(`${where}: op must be a string, got ${JSON.stringify(op)}`);
    if (!isOpName(op)) throw new Error(`${where}: unknown op '${op}' (known: ${PRIMITIVES.slice(1).join(', ')})`);
    if (op === 'none') throw new Error(`${where}: op 'none' is not allowed in a genotype`);
    if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input > node + 1) {
      throw new Error(`${where}: input index ${JSON.stringify(input)} out of range (node ${node} may use 0..${node + 1})`);
    }
    return [op, input];
  });
}

function validateConcat(value: unknown, cell: CellType): number[] {
  const ok =
    Array.isArray(value) && value.length === CELL_CONCAT.length && value.every((v, i) => v === CELL_CONCAT[i]);
  if (!ok) {
    throw new Error(`genotype ${cell}_concat: must be range(2, 6) = [2, 3, 4, 5], got ${JSON.stringify(value)}`);
  }
  return [...CELL_CONCAT];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A tiny reader for the Python literal subset genotypes are written in: keyword call
// `Genotype(...)`, lists, tuples, quoted strings, integers and range(a, b).

type Token = { kind: 'punct' | 'name' | 'string' | 'int'; text: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(-?\d+)|([A-Za-z_][\w.]*)|'([^'\n]*)'|"([^"\n]*)"|([()[\],=]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (!m) throw new Error(`genotype: unexpected character '${text.slice(at).trim()[0]}' at offset ${at}`);
    const start = m.index + m[0].length - m[0].trimStart().length;
    if (m[1] !== undefined) tokens.push({ kind: 'int', text: m[1], at: start });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', text: m[2], at: start });
    else if (m[3] !== undefined || m[4] !== undefined) tokens.push({ kind: 'string', text: m[3] ?? m[4]!, at: start });
    else tokens.push({ kind: 'punct', text: m[5]!, at: start });
    at = pattern.lastIndex;
  }
  return tokens;
}

function parsePythonGenotype(text: string): Record<string, unknown> {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (what: string): never => {
    const t = peek();
    throw new Error(`genotype: expected ${what} ${t ? `at offset ${t.at}, got '${t.text}'` : 'but the text ended'}`);
  };
  const expect = (punct: string): void => {
    if (peek()?.kind === 'punct' && peek()!.text === punct) pos++;
    else fail(`'${punct}'`);
  };
  const accept = (punct: string): boolean => {
    if (peek()?.kind === 'punct' && peek()!.text === punct) {
      pos++;
      return true;
    }
    return false;
  };
  const sequence = (close: string): unknown[] => {
    const items: unknown[] = [];
    while (!accept(close)) {
      items.push(value());
      if (!accept(',')) {
        expect(close);
        break;
      }
    }
    return items;
  };
  const value = (): unknown => {
    const t = peek() ?? fail('a value');
    pos++;
    if (t.kind === 'int') return Number(t.text);
    if (t.kind === 'string') return t.text;
    if (t.kind === 'punct' && t.text === '[') return sequence(']');
    if (t.kind === 'punct' && t.text === '(') return sequence(')');
    if (t.kind === 'name' && t.text === 'range') {
      expect('(');
      const [from, to, ...rest] = sequence(')');
      if (typeof from !== 'number' || typeof to !== 'number' || rest.length > 0) {
        throw new Error(`genotype: range(...) at offset ${t.at} must have two integer arguments`);
      }
      return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
    }
    pos--;
    return fail('a list, tuple, string, integer or range(a, b)');
  };

  const head = peek();
  if (head?.kind !== 'name' || !/(^|\.)Genotype$/.test(head.text)) fail("'Genotype('");
  pos++;
  expect('(');
  const fields: Record<string, unknown> = {};
  while (!accept(')')) {
    const key = peek();
    if (key?.kind !== 'name') fail('a field name');
    pos++;
    expect('=');
    fields[key!.text] = value();
    if (!accept(',')) {
      expect(')');
      break;
    }
  }
  if (pos < tokens.length) fail('the end of the genotype');
  return fields;
}
