// A complete tiny-preset search on a given backend, the unit most search tests compare.
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../../src/data/load.ts';
import { presetConfig } from '../../src/search/config.ts';
import { prepareSearchData, Search, type SearchResult } from '../../src/search/search.ts';

export const embeddedTrain = loadDataset(undefined, 'train');

export async function tinySearch(backend: Backend, seed: number): Promise<SearchResult> {
  const config = { ...presetConfig('tiny'), seed };
  const search = new Search(backend, config, prepareSearchData(embeddedTrain, config));
  try {
    return (await search.run())!;
  } finally {
    search.release();
  }
}
