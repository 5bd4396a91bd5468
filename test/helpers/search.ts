// A complete tiny-preset search on a given backend, the unit most search tests compare.
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../../src/data/load.ts';
import { tinySearch as tinySearchOn } from '../../src/search/smoke.ts';
import type { SearchResult } from '../../src/search/search.ts';

export const embeddedTrain = loadDataset(undefined, 'train');

export function tinySearch(backend: Backend, seed: number): Promise<SearchResult> {
  return tinySearchOn(backend, embeddedTrain, seed);
}
