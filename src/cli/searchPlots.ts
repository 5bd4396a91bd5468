// Writes the search's SVG figures beside its log (placeholder until plots land).
import type { Genotype } from '../search/genotype.ts';
import type { EpochRecord } from '../search/search.ts';

export function writeSearchPlots(_out: string, _records: EpochRecord[], _genotype?: Genotype): void {}
