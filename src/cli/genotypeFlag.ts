// `--genotype FILE|NAME`: a genotype.json written by `sgas search` (or its folder), a file holding a DARTS-style
// `Genotype(...)` literal (optionally assigned, `X = Genotype(...)`, as genotypes.py and the
// reference's logs write it), or the name of a published genotype.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseGenotype, type Genotype } from '../search/genotype.ts';
import { genotypeByName, PUBLISHED_GENOTYPES } from '../search/genotypes.ts';
import { UsageError } from './args.ts';

export function genotypeFlag(value: string | undefined, command: string): Genotype {
  if (!value) throw new UsageError(`${command}: --genotype FILE|NAME is required (a genotype.json, a Genotype(...) file, or a published name such as Cri2_CIFAR_Best)`);
  // A search's output folder stands for its genotype.json.
  const file = existsSync(value) && statSync(value).isDirectory() ? join(value, 'genotype.json') : value;
  if (existsSync(file) && statSync(file).isFile()) {
    const text = readFileSync(file, 'utf8').replace(/^\s*[A-Za-z_]\w*\s*=\s*(?=[\w.]*Genotype\s*\()/, '');
    try {
      return parseGenotype(text);
    } catch (e) {
      throw new UsageError(`--genotype ${file}: ${(e as Error).message}`);
    }
  }
  if (Object.hasOwn(PUBLISHED_GENOTYPES, value)) return genotypeByName(value);
  throw new UsageError(`--genotype ${value}: no such file${file !== value ? ` (${file})` : ''}, and not a published genotype (known: ${Object.keys(PUBLISHED_GENOTYPES).join(', ')})`);
}
