// The sweep's statistics, as the paper reports them (SGAS.md §4: mean ± std over the searches of
// each criterion, then the best after training each found cell), beside random cells and
// published baselines trained at the same budget: read from the jobs' folders.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TRAIN_PRESET } from '../eval/config.ts';
import { trainParameters } from '../eval/parameters.ts';
import type { SearchReport } from '../search/report.ts';
import { parseGenotype } from '../search/genotype.ts';
import type { TrainReport } from '../jobs/train.ts';
import { FAILED_FILE } from './local.ts';
import { criterionGroup, RANDOM_GROUP, type SweepJob, type SweepSpec } from './plan.ts';

/** Mean and sample standard deviation (n − 1; 0 for one value) of a group's values. */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** One row: a search with the training of its cell, or a training of a random or published cell. */
export interface LeaderboardRun {
  name: string;
  group: string;
  seed?: number;
  /** The search's last validation accuracy (its own held-out half of the training images). */
  validAccuracy?: number;
  /** The trained network's test accuracy: the mean over its training seeds where it has several. */
  testAccuracy?: number;
  /** With several training seeds: each finished training's test accuracy, in seed order. */
  testAccuracies?: number[];
  /** Weights of the training preset's network for this cell (auxiliary head apart). */
  parameters?: number;
  searchSeconds?: number;
  /** Every training of the cell together. */
  trainSeconds?: number;
  genotype?: string;
  /** Rank by test accuracy over every trained run (by validation accuracy when nothing trained); ties share a rank. */
  rank?: number;
  /** Unfinished: the job and why, or 'not finished'. */
  failed?: { job: string; error: string };
}

export interface LeaderboardGroup {
  group: string;
  runs: number;
  failed: number;
  validAccuracy: Stat | null;
  testAccuracy: Stat | null;
  parameters: Stat | null;
  searchSeconds: Stat | null;
  trainSeconds: Stat | null;
  /**
   * With several training seeds: the pooled standard deviation of a cell's accuracy between its
   * trainings (√ of the within-cell variances, weighted by their degrees of freedom); null otherwise.
   */
  trainingNoise: number | null;
}

/**
 * A group's trained cells against the random ones, trained with the same preset: a search is worth
 * running when its cells beat random cells by more than the random group's own spread.
 */
export interface VersusRandom {
  group: string;
  /** The group's mean test accuracy minus the random group's. */
  margin: number;
  /** The random group's sample standard deviation: what the margin must exceed. */
  randomStd: number;
  beats: boolean;
}

/** The pooled group of every search's cell, both criteria together. */
export const ALL_SEARCHES = 'all searches';

export interface Leaderboard {
  spec: SweepSpec;
  /** What the ranks compare: test accuracy, or validation accuracy in a sweep without training. */
  rankedBy: 'testAccuracy' | 'validAccuracy';
  groups: LeaderboardGroup[];
  /** Per criterion, the run whose cell did best ("Best" in the paper's tables). */
  best: Record<string, LeaderboardRun>;
  /** Per criterion (and all searches pooled, with both), against random cells; empty below two trained random cells. */
  versusRandom: VersusRandom[];
  runs: LeaderboardRun[];
}

export function stat(values: readonly number[]): Stat | null {
  if (!values.length) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), n: values.length };
}

/** √(Σ within-sample squared deviations / Σ (n − 1)) over the samples of two or more values; null without one. */
export function pooledStd(samples: readonly (readonly number[])[]): number | null {
  const repeated = samples.filter((s) => s.length > 1);
  if (!repeated.length) return null;
  const squares = repeated.reduce((sum, s) => sum + stat(s)!.std ** 2 * (s.length - 1), 0);
  return Math.sqrt(squares / repeated.reduce((n, s) => n + s.length - 1, 0));
}

function readJson<T>(path: string): T | null {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as T : null;
}

/** The parameters a searched cell has in the sweep's training network, counted without a GPU. */
function searchedParameters(report: SearchReport, spec: SweepSpec): number {
  return trainParameters(parseGenotype(report.python), report.dataInfo, spec.trainPreset ?? DEFAULT_TRAIN_PRESET, spec.trainOverrides).count;
}

/** Reads every job's folder under `out` into the leaderboard. */
export function buildLeaderboard(spec: SweepSpec, jobs: SweepJob[], out: string): Leaderboard {
  const rows = new Map<string, LeaderboardRun>();
  // Test accuracies of each cell's finished trainings, one per training seed.
  const accuracies = new Map<string, number[]>();
  for (const job of jobs) {
    const dir = join(out, job.name);
    const key = job.kind === 'train' ? job.after ?? job.cell ?? job.name : job.name;
    const row = rows.get(key) ?? { name: key, group: job.group, ...(job.kind === 'search' && { seed: job.options.seed }) };
    rows.set(key, row);
    const failed = readJson<{ error: string }>(join(dir, FAILED_FILE));
    if (job.kind === 'search') {
      const report = readJson<SearchReport>(join(dir, 'genotype.json'));
      if (report) {
        Object.assign(row, { validAccuracy: report.validAccuracy, searchSeconds: report.seconds, genotype: report.python });
        row.parameters ??= searchedParameters(report, spec);
      } else row.failed ??= { job: job.name, error: failed?.error ?? 'not finished' };
    } else {
      const report = readJson<TrainReport>(join(dir, 'result.json'));
      if (report) {
        Object.assign(row, { trainSeconds: (row.trainSeconds ?? 0) + report.seconds, parameters: report.parameters.network, genotype: report.python });
        accuracies.set(key, [...(accuracies.get(key) ?? []), report.testAccuracy]);
      } else row.failed ??= { job: job.name, error: failed?.error ?? 'not finished' };
    }
  }
  // A cell's accuracy is the mean of all its trainings, or none until every one has finished.
  for (const [key, values] of accuracies) {
    const row = rows.get(key)!;
    if (row.failed) continue;
    row.testAccuracy = stat(values)!.mean;
    if (values.length > 1) row.testAccuracies = values;
  }
  const runs = [...rows.values()];
  const rankedBy = runs.some((r) => r.testAccuracy !== undefined) ? 'testAccuracy' : 'validAccuracy';
  const scored = runs.filter((r) => r[rankedBy] !== undefined).sort((a, b) => b[rankedBy]! - a[rankedBy]!);
  for (const run of scored) run.rank = 1 + scored.filter((r) => r[rankedBy]! > run[rankedBy]!).length;
  runs.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity));

  const groupNames = [...new Set(jobs.map((j) => j.group))];
  const groups = groupNames.map((group): LeaderboardGroup => {
    const members = runs.filter((r) => r.group === group);
    const of = (key: 'validAccuracy' | 'testAccuracy' | 'parameters' | 'searchSeconds' | 'trainSeconds') =>
      stat(members.flatMap((r) => (r[key] === undefined ? [] : [r[key]!])));
    return {
      group, runs: members.length, failed: members.filter((r) => r.failed).length,
      validAccuracy: of('validAccuracy'), testAccuracy: of('testAccuracy'), parameters: of('parameters'),
      searchSeconds: of('searchSeconds'), trainSeconds: of('trainSeconds'),
      trainingNoise: pooledStd(members.map((r) => r.testAccuracies ?? [])),
    };
  });
  const best: Record<string, LeaderboardRun> = {};
  for (const criterion of spec.criteria) {
    const top = scored.find((r) => r.group === criterionGroup(criterion));
    if (top) best[criterionGroup(criterion)] = top;
  }
  return { spec, rankedBy, groups, best, versusRandom: versusRandom(spec, runs), runs };
}

/** Each criterion (and, with both, all searches pooled) against the random group; empty below two trained random cells. */
export function versusRandom(spec: SweepSpec, runs: readonly LeaderboardRun[]): VersusRandom[] {
  const accuracies = (inGroup: (group: string) => boolean) => stat(runs.flatMap((r) => (inGroup(r.group) && r.testAccuracy !== undefined ? [r.testAccuracy] : [])));
  const random = accuracies((g) => g === RANDOM_GROUP);
  if (!random || random.n < 2) return [];
  const searched = spec.criteria.map(criterionGroup);
  const compared: [string, (group: string) => boolean][] = searched.map((name) => [name, (g) => g === name]);
  if (searched.length > 1) compared.push([ALL_SEARCHES, (g) => searched.includes(g)]);
  return compared.flatMap(([group, inGroup]) => {
    const accuracy = accuracies(inGroup);
    if (!accuracy) return [];
    const margin = accuracy.mean - random.mean;
    return [{ group, margin, randomStd: random.std, beats: margin > random.std }];
  });
}
