// The tiny preset's complete search: the smoke check every backend and adapter runs (the tests,
// sgas doctor, the page's parity check), whose genotype must come out the same on all of them.
import type { Backend } from '../../runtime/index.ts';
import type { Dataset } from '../data/dataset.ts';
import { presetConfig } from './config.ts';
import { prepareSearchData, Search, type SearchResult } from './search.ts';

export const SMOKE_SEED = 7;

export async function tinySearch(backend: Backend, train: Dataset, seed = SMOKE_SEED): Promise<SearchResult> {
  const config = { ...presetConfig('tiny'), seed };
  const search = new Search(backend, config, prepareSearchData(train, config));
  try {
    return (await search.run())!;
  } finally {
    search.release();
  }
}
