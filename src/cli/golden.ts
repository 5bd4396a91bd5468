// `sgas golden DIR`: runs every golden file in DIR and prints one line per case and tensor.
// Exit 0 all pass, 1 a case is outside tolerance, 2 a file cannot be read or has an unknown kind.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { GoldenFileError, kindFamily, parseGoldenFile, type GoldenHeader } from '../golden/goldenFile.ts';
import { formatResult, kindRunners, runGolden, type ReadSibling } from '../golden/runner.ts';
import { UsageError } from './args.ts';

/** The golden JSON files of a directory (or the one file given), sorted. */
export function goldenFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = statSync(dir).isDirectory() ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f)) : [dir];
  } catch {
    throw new GoldenFileError(`${dir}: cannot read this golden directory or file (does it exist?)`);
  }
  if (!entries.length) throw new GoldenFileError(`${dir}: no .json golden files in it`);
  return entries;
}

export interface GoldenUnit {
  path: string;
  file: string;
  golden: GoldenHeader & Record<string, unknown>;
  readSibling: ReadSibling;
}

/** Each golden file of DIR that runs on its own, parsed; a network set is read through its weights file, its other parts as siblings. */
export function goldenUnits(dir: string): GoldenUnit[] {
  const units: GoldenUnit[] = [];
  for (const path of goldenFiles(dir)) {
    const file = basename(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new GoldenFileError(`${path}: cannot read (${(e as Error).message})`);
    }
    const golden = parseGoldenFile(text, file);
    if (kindFamily(golden.kind) === 'network' && !file.endsWith('_weights.json')) continue;
    if (!kindRunners[kindFamily(golden.kind)]) throw new GoldenFileError(`${file}: kind '${golden.kind}' is not supported yet`);
    const readSibling = async (suffix: string) => {
      const sibling = path.replace(/_weights\.json$/, suffix);
      return parseGoldenFile(readFileSync(sibling, 'utf8'), basename(sibling));
    };
    units.push({ path, file, golden, readSibling });
  }
  return units;
}

export async function goldenCommand(backend: Backend, argv: string[], log = console.log): Promise<number> {
  const [dir] = argv.filter((a) => !a.startsWith('-'));
  if (!dir) throw new UsageError('golden: give the directory of golden JSON files, e.g. sgas golden test/golden');
  let failed = 0;
  let passed = 0;
  for (const { path, file, golden, readSibling } of goldenUnits(dir)) {
    for (const r of await runGolden(backend, golden, path, readSibling)) {
      log(formatResult({ ...r, file }));
      if (r.pass) passed++;
      else failed++;
    }
  }
  log(`golden: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
