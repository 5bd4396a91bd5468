// A sweep's jobs name their presets, not the presets' values, so a preset edited between two runs
// of a sweep would pass off old runs as new ones. Each job's run.json keeps the config it ran with:
// a sweep continued in its folder refuses a job that ran with other values, and --reuse takes a
// finished job from another sweep's folder only where it is the same job (same config, same genotype).
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../cli/args.ts';
import { genotypeFlag } from '../cli/genotypeFlag.ts';
import { storedTrainConfig, type TrainConfig } from '../eval/config.ts';
import { storedSearchConfig, type SearchConfig } from '../search/config.ts';
import { genotypeToPython } from '../search/genotype.ts';
import { searchConfigOf, trainConfigOf } from '../jobs/options.ts';
import { readRunFile } from '../jobs/runFile.ts';
import type { SweepJob } from './plan.ts';
import { jobDone } from './runJob.ts';
import type { SweepFile } from './sweep.ts';

/** The config the job runs with today: its preset's values, then its overrides, seed and criterion. */
function jobConfig(job: SweepJob): object {
  return job.kind === 'search' ? searchConfigOf(job.options).config : trainConfigOf(job.options).config;
}

/** The genotype a training trains, as the Python text its run.json keeps; null where a search's is not found yet (or is damaged: the training says so). */
function trainedGenotype(job: SweepJob, out: string): string | null {
  if (job.kind !== 'train') return null;
  const given = job.after ? join(out, job.after) : job.options.genotype;
  try {
    return genotypeToPython(typeof given === 'object' ? given : genotypeFlag(given, 'sweep'));
  } catch {
    return null;
  }
}

/** run.json of `dir`; a damaged one reads as empty here, and its job fails on it with its own error. */
function ranWith(dir: string): Partial<{ config: Record<string, unknown>; python: string }> {
  try {
    return readRunFile(dir);
  } catch {
    return {};
  }
}

/** How the run in `dir` differs from `job` as it runs today (null: it does not, or nothing readable ran there). */
export function difference(job: SweepJob, dir: string, out: string): string | null {
  const run = ranWith(dir);
  if (!run.config) return null;
  const ran = (job.kind === 'train' ? storedTrainConfig(run.config as unknown as TrainConfig) : storedSearchConfig(run.config as unknown as SearchConfig)) as unknown as Record<string, unknown>;
  const now = jobConfig(job) as Record<string, unknown>;
  const key = [...new Set([...Object.keys(now), ...Object.keys(ran)])].find((k) => !isDeepStrictEqual(now[k], ran[k]));
  if (key) return `${key} ${JSON.stringify(ran[key])}, where its preset now gives ${JSON.stringify(now[key])}`;
  const genotype = trainedGenotype(job, out);
  if (genotype && run.python && run.python !== genotype) return `another genotype (${run.python})`;
  return null;
}

/** Refuses a sweep folder where a job ran with other values than its job has today. */
export function checkCurrent(file: SweepFile, out: string): void {
  for (const job of file.jobs) {
    const differs = difference(job, join(out, job.name), out);
    if (differs) {
      throw new UsageError(`${join(out, job.name)} ran with ${differs}: the job changed since this sweep began; choose another --out (--reuse ${out} takes the jobs that still match)`);
    }
  }
}

/**
 * Copies into `out` each job finished in the sweep folder `from` (whose sweep.json is `source`)
 * that is the same job: the same data, config and genotype (a training after a search only once
 * that search is the same). Jobs begun in `out` are left alone. Returns the names copied.
 */
export function reuseJobs(file: SweepFile, out: string, from: string, source: SweepFile | null, log: (line: string) => void): string[] {
  if (!source) throw new UsageError(`--reuse ${from}: no sweep there (no sweep.json)`);
  if (!isDeepStrictEqual(source.spec.data, file.spec.data)) throw new UsageError(`--reuse ${from}: that sweep ran on other data; reuse a sweep on the same --data`);
  const copied: string[] = [];
  for (const job of file.jobs) {
    const [src, dst] = [join(from, job.name), join(out, job.name)];
    if (existsSync(dst) || !jobDone(job, src)) continue;
    if (job.kind === 'train' && job.after && !jobDone({ kind: 'search' }, join(out, job.after))) continue;
    if (difference(job, src, out) || !ranWith(src).config) continue;
    const temp = `${dst}.reuse.tmp`;
    rmSync(temp, { recursive: true, force: true });
    cpSync(src, temp, { recursive: true });
    renameSync(temp, dst);
    copied.push(job.name);
  }
  log(`sgas sweep: ${copied.length} finished job${copied.length === 1 ? '' : 's'} reused from ${from}${copied.length ? ` (${copied.join(', ')})` : ''}`);
  return copied;
}
