// genotype.json: what a finished search reports, the same from the CLI and from the page.
import type { DataInfo } from '../data/dataInfo.ts';
import { trainParameters, type TrainParameters } from '../eval/parameters.ts';
import type { SearchConfig } from './config.ts';
import { genotypeToJson, genotypeToPython } from './genotype.ts';
import type { Search, SearchResult } from './search.ts';

export interface SearchReport {
  genotype: ReturnType<typeof genotypeToJson>;
  python: string;
  config: SearchConfig;
  /** The classes, input size and normalisation of the images searched on. */
  dataInfo: DataInfo;
  seed: number;
  alphas: SearchResult['alphas'];
  epochs: number;
  seconds: number;
  /** The last epoch's validation accuracy (the search's own held-out half). */
  validAccuracy: number;
  /** The found cell's weights under the default training preset (no auxiliary head). */
  trainParameters: TrainParameters;
}

/** The result's part of genotype.json: the genotype in both forms and the final softmaxed alphas. */
export function resultReport(result: SearchResult): Pick<SearchReport, 'genotype' | 'python' | 'alphas'> {
  return { genotype: genotypeToJson(result.genotype), python: genotypeToPython(result.genotype), alphas: result.alphas };
}

export function searchReport(search: Search, result: SearchResult): SearchReport {
  const { genotype, python, alphas } = resultReport(result);
  return {
    genotype,
    python,
    config: search.config,
    dataInfo: search.dataInfo,
    seed: search.config.seed,
    alphas,
    epochs: result.epochs,
    // Search time across pauses, reloads and resumes: what the epochs themselves took.
    seconds: search.records.reduce((s, r) => s + r.seconds, 0),
    validAccuracy: search.records.at(-1)?.validAccuracy ?? NaN,
    trainParameters: trainParameters(result.genotype, search.dataInfo),
  };
}
