// A sweep as data: what it was asked for (seeds, criteria, presets, random cells, baselines, data)
// and the jobs that follow, each a name, a kind and the options object search() or train() takes.
// The same plan runs on this machine or goes to a queue.
import { PRESETS, type SearchConfig } from '../search/config.ts';
import { TRAIN_PRESETS, type TrainConfig } from '../eval/config.ts';
import { PUBLISHED_GENOTYPES } from '../search/genotypes.ts';
import { randomGenotype } from '../search/randomGenotype.ts';
import type { DataOptions, SearchOptions, TrainOptions } from '../jobs/options.ts';
import { UsageError } from '../cli/args.ts';

export interface SweepSpec {
  seeds: number[];
  criteria: (1 | 2)[];
  /** The search preset. */
  preset: string;
  /** The training preset every found, random and baseline genotype trains with; null: searches only. */
  trainPreset: string | null;
  /** Random genotypes to train, drawn with seeds 1…random. */
  random: number;
  /** Published genotypes to train, by name. */
  baselines: string[];
  data?: DataOptions;
  /** Hyperparameters over the search preset's, the same for every search. */
  searchOverrides?: Partial<SearchConfig>;
  /** Hyperparameters over the training preset's, the same for every training. */
  trainOverrides?: Partial<TrainConfig>;
  /**
   * Every cell is trained once per seed, its accuracy their mean (absent: once, with the training
   * preset's seed). One training ranks cells only roughly: seeds alone move a cell's accuracy.
   */
  trainSeeds?: number[];
}

export type SweepJob =
  | { name: string; kind: 'search'; group: string; options: SearchOptions }
  /**
   * `after`: the search whose genotype this trains (its options get it when the search is done);
   * `cell`: the cell's first training, where this one trains it again with another seed.
   */
  | { name: string; kind: 'train'; group: string; options: TrainOptions; after?: string; cell?: string };

export const searchJobName = (criterion: number, seed: number) => `search-cri${criterion}-seed${seed}`;
export const criterionGroup = (criterion: number) => `criterion ${criterion}`;
export const RANDOM_GROUP = 'random';

/** Every job of the sweep, searches first; a training after a search comes right after it. */
export function planJobs(spec: SweepSpec): SweepJob[] {
  checkSpec(spec);
  const jobs: SweepJob[] = [];
  const data = spec.data && Object.values(spec.data).some((v) => v !== undefined) ? { data: spec.data } : {};
  const training = (genotype?: TrainOptions['genotype']): TrainOptions => ({
    preset: spec.trainPreset!, ...(spec.trainOverrides && { overrides: spec.trainOverrides }), ...(genotype && { genotype }), ...data,
  });
  // The preset's own seed keeps the plain name and options, so a sweep's single trainings are the
  // same jobs as the first of these (--reuse takes them).
  const presetSeed = spec.trainPreset ? TRAIN_PRESETS[spec.trainPreset]!.config.seed : 0;
  const trainings = (cell: string, group: string, genotype?: TrainOptions['genotype'], after?: string): SweepJob[] =>
    (spec.trainSeeds ?? [presetSeed]).map((seed) => ({
      kind: 'train', group, ...(after && { after }),
      ...(seed === presetSeed ? { name: cell, options: training(genotype) } : { name: `${cell}-tseed${seed}`, cell, options: { ...training(genotype), seed } }),
    }));
  for (const criterion of spec.criteria) {
    for (const seed of spec.seeds) {
      const name = searchJobName(criterion, seed);
      const group = criterionGroup(criterion);
      jobs.push({ name, kind: 'search', group, options: { preset: spec.preset, ...(spec.searchOverrides && { overrides: spec.searchOverrides }), seed, criterion, ...data } });
      if (spec.trainPreset) jobs.push(...trainings(name.replace(/^search-/, 'train-'), group, undefined, name));
    }
  }
  if (spec.trainPreset) {
    for (let k = 1; k <= spec.random; k++) jobs.push(...trainings(`train-random-${k}`, RANDOM_GROUP, randomGenotype(k)));
    for (const name of spec.baselines) jobs.push(...trainings(`train-${name}`, name, name));
  }
  return jobs;
}

function checkSpec(spec: SweepSpec): void {
  if (!spec.seeds.length) throw new UsageError('sweep: --seeds gives no seed');
  if (!spec.criteria.length) throw new UsageError('sweep: --criteria gives no criterion');
  if (!Object.hasOwn(PRESETS, spec.preset)) throw new UsageError(`--preset ${spec.preset}: unknown preset (presets: ${Object.keys(PRESETS).join(', ')})`);
  if (spec.trainPreset !== null && !Object.hasOwn(TRAIN_PRESETS, spec.trainPreset)) {
    throw new UsageError(`--train-preset ${spec.trainPreset}: unknown preset (presets: ${Object.keys(TRAIN_PRESETS).join(', ')}, or none)`);
  }
  if (spec.trainPreset === null && (spec.random || spec.baselines.length)) {
    throw new UsageError('--random and --baselines are trained for comparison: drop them, or give --train-preset');
  }
  if (spec.trainSeeds) {
    if (spec.trainPreset === null) throw new UsageError('--train-seeds: nothing is trained with --train-preset none');
    if (!spec.trainSeeds.length || new Set(spec.trainSeeds).size !== spec.trainSeeds.length) {
      throw new UsageError(`--train-seeds ${spec.trainSeeds.join(',')}: give each seed once`);
    }
  }
  const unknown = spec.baselines.filter((b) => !Object.hasOwn(PUBLISHED_GENOTYPES, b));
  if (unknown.length) throw new UsageError(`--baselines ${unknown.join(',')}: not a published genotype (known: ${Object.keys(PUBLISHED_GENOTYPES).join(', ')})`);
}
