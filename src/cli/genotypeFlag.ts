// `--genotype FILE|NAME|LITERAL`: a genotype.json written by `sgas search` (or its folder), a file holding a
// DARTS-style `Genotype(...)` literal (optionally assigned, `X = Genotype(...)`, as genotypes.py and
// the reference's logs write it), the name of a published genotype, or such a literal itself.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseGenotype, type Genotype } from '../search/genotype.ts';
import { genotypeByName, PUBLISHED_GENOTYPES } from '../search/genotypes.ts';
import { UsageError } from './args.ts';

/** Whether the flag's value is a `Genotype(...)` literal rather than a path or a name. */
export function isGenotypeLiteral(value: string): boolean {
  return /^\s*([A-Za-z_]\w*\s*=\s*)?[\w.]*Genotype\s*\(/.test(value);
}

export function genotypeFlag(value: string | undefined, command: string): Genotype {
  if (!value) throw new UsageError(`${command}: --genotype FILE|NAME|LITERAL is required (a genotype.json, a Genotype(...) file or literal, or a published name such as Cri2_CIFAR_Best)`);
  const parse = (text: string, what: string) => {
    try {
      return parseGenotype(text.replace(/^\s*[A-Za-z_]\w*\s*=\s*(?=[\w.]*Genotype\s*\()/, ''));
    } catch (e) {
      throw new UsageError(`--genotype ${what}: ${(e as Error).message}`);
    }
  };
  if (isGenotypeLiteral(value)) return parse(value, 'literal');
  // A search's output folder stands for its genotype.json.
  const file = existsSync(value) && statSync(value).isDirectory() ? join(value, 'genotype.json') : value;
  if (existsSync(file) && statSync(file).isFile()) return parse(readFileSync(file, 'utf8'), file);
  if (Object.hasOwn(PUBLISHED_GENOTYPES, value)) return genotypeByName(value);
  throw new UsageError(`--genotype ${value}: no such file${file !== value ? ` (${file})` : ''}, and not a published genotype (known: ${Object.keys(PUBLISHED_GENOTYPES).join(', ')})`);
}
