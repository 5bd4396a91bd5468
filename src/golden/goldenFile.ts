// The golden-vector files of the PyTorch reference (schema: test/golden/README.md).
export interface GoldenTensor {
  shape: number[];
  data: number[];
}

export interface GoldenHeader {
  schema: string;
  kind: string;
}

export class GoldenFileError extends Error {
  override name = 'GoldenFileError';
}

export const KNOWN_KINDS = ['primitives', 'blocks', 'mixedop', 'edge_decision', 'network'] as const;

/** `network_*` files come in sets; the weights file's kind names the set. */
export function kindFamily(kind: string): string {
  return kind.startsWith('network') ? 'network' : kind;
}

export function parseGoldenFile(text: string, file: string): GoldenHeader & Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GoldenFileError(`${file}: not valid JSON (${(e as Error).message}); regenerate or re-copy the golden file`);
  }
  const header = json as Partial<GoldenHeader>;
  if (typeof json !== 'object' || json === null || header.schema !== 'sgas-golden-v1' || typeof header.kind !== 'string') {
    throw new GoldenFileError(`${file}: not an sgas-golden-v1 file (missing "schema" or "kind")`);
  }
  if (!(KNOWN_KINDS as readonly string[]).includes(kindFamily(header.kind))) {
    throw new GoldenFileError(`${file}: unknown kind '${header.kind}' (known: ${KNOWN_KINDS.join(', ')})`);
  }
  return json as GoldenHeader & Record<string, unknown>;
}

export function f32(t: GoldenTensor): Float32Array {
  return Float32Array.from(t.data);
}
