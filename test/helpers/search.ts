// A complete tiny-preset search on a given backend, the unit most search tests compare.
import type { Backend } from '../../runtime/index.ts';
import type { SearchConfig } from '../../src/search/config.ts';
import { loadDataset } from '../../src/data/load.ts';
import { tinySearch as tinySearchOn } from '../../src/search/smoke.ts';
import { Search, type SearchData, type SearchResult } from '../../src/search/search.ts';

export const embeddedTrain = loadDataset(undefined, 'train');

export function tinySearch(backend: Backend, seed: number): Promise<SearchResult> {
  return tinySearchOn(backend, embeddedTrain, seed);
}

/** A search with `config` run straight to its end, uninterrupted: the result stopped runs must reach. */
export async function straightSearch(backend: Backend, config: SearchConfig, data: SearchData): Promise<SearchResult> {
  const search = new Search(backend, config, data);
  try {
    return (await search.run())!;
  } finally {
    search.release();
  }
}
