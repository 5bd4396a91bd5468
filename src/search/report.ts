// genotype.json: what a finished search reports, the same from the CLI and from the page.
import type { SearchConfig } from './config.ts';
import { genotypeToJson, genotypeToPython } from './genotype.ts';
import type { Search, SearchResult } from './search.ts';

export interface SearchReport {
  genotype: ReturnType<typeof genotypeToJson>;
  python: string;
  config: SearchConfig;
  seed: number;
  alphas: SearchResult['alphas'];
  epochs: number;
  seconds: number;
}

export function searchReport(search: Search, result: SearchResult): SearchReport {
  return {
    genotype: genotypeToJson(result.genotype),
    python: genotypeToPython(result.genotype),
    config: search.config,
    seed: search.config.seed,
    alphas: result.alphas,
    epochs: result.epochs,
    // Search time across pauses, reloads and resumes: what the epochs themselves took.
    seconds: search.records.reduce((s, r) => s + r.seconds, 0),
  };
}
