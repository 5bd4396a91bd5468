// `sgas sweep`: the paper's protocol, many searches (seeds × criteria), each found cell trained,
// beside random cells and published ones trained at the same budget, summed up in a leaderboard.
// On this machine (--jobs N), or through a Redis queue that `sgas worker`s anywhere take jobs from.
import { randomBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { TRAIN_PRESETS } from '../eval/config.ts';
import { PRESETS } from '../search/config.ts';
import { collectSweep, statusLine, sweepOnQueue } from '../sweep/distributed.ts';
import { SweepStoppedError } from '../sweep/local.ts';
import type { SweepSpec } from '../sweep/plan.ts';
import { jobStatus, openQueue, reachRedis } from '../sweep/queue.ts';
import { versusRandomVerdict } from '../sweep/report.ts';
import { finishSweep, openSweep, readSweepFile, sweep } from '../sweep/sweep.ts';
import { checkNumericFlags, NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, POSITIVE_INTEGER, UsageError, type DeviceFlags } from './args.ts';
import { DATA_FLAG_RANGES, DATA_FLAGS, dataFlags } from './dataFlags.ts';
import { searchOverrides } from './search.ts';
import { trainOverrides } from './train.ts';

export const SWEEP_FLAG_RANGES = { random: NON_NEGATIVE_INTEGER, jobs: POSITIVE_INTEGER, 'image-size': NON_NEGATIVE_INTEGER, ...DATA_FLAG_RANGES };

export const SWEEP_HELP = `usage: sgas sweep --seeds N|S1,S2,... [--criteria 1,2] [--preset P] [--train-preset P|none] [--random K]
                  [--baselines NAME,NAME] [--search-flags "..."] [--train-flags "..."] [--train-seeds N|S1,S2,...] [--data DIR] [--out DIR]
                  [--jobs N] [--reuse DIR] [--backend auto|webgpu|wasm] [--adapter INDEX|TEXT] [--kernels auto|tune|plain|tiled]
       sgas sweep --redis redis://HOST:PORT [the same flags] [--detach]
       sgas sweep --redis URL --status [--out DIR]
       sgas sweep --redis URL --collect --out DIR

One search per seed and criterion (the same genotype as sgas search --seed S --criterion C at the
same thread count; unless --threads says, a worker of --jobs N has the cores over N), then each
found cell trained from scratch, beside K random cells (two inputs per node, ops uniform, seeds
1..K) and published genotypes, all with the same training preset. OUT/search-cri{C}-seed{S}/ and
OUT/train-.../ hold what sgas search and sgas train write; OUT/leaderboard.md and .json give mean ±
std per group, each run's rank and the best genotype per criterion, with two figures.

  --seeds N        seeds 1..N, or a list: --seeds 3,7,11
  --criteria       1, 2 or 1,2 (default 1,2)
  --preset         search preset: ${Object.keys(PRESETS).join(', ')} (default cpu)
  --train-preset   training preset: ${Object.keys(TRAIN_PRESETS).join(', ')}, or none for searches only (default cpu)
  --search-flags "--max-images 4096 --layers 6"   sgas search hyperparameter flags for every search
  --train-flags "--epochs 20"                     sgas train hyperparameter flags for every training
  --train-seeds N  train every cell N times, training seeds 0..N-1 (or a list: --train-seeds 0,3): a
                   cell's accuracy is the mean, and the leaderboard gives each group's training
                   noise (default: once, with the training preset's seed)
  --jobs N         worker processes on this machine (default 1: this process)
  --reuse DIR      take the finished jobs of the sweep in DIR that are the same as this one's (same
                   data, config and genotype; trainings after a search only where the search is
                   the same) instead of running them again: a new search setting against the same
                   random cells
  --redis URL      put the jobs on a BullMQ queue in Redis instead; sgas worker --redis URL runs them
                   (any machine), and this waits for them and writes the leaderboard
  --detach         with --redis: return once the jobs are queued
  --status         with --redis: every job's state, tries and progress
  --collect        with --redis: fetch the jobs' folders into --out and write the leaderboard

The same command run again with the same --out continues the sweep: jobs done are kept, the
others continue from their checkpoints; a job that ran with other values than its preset has now
is refused. Ctrl-C stops the jobs after their step in progress.
`;

function listFlag(name: string, value: string, parse: (item: string) => number): number[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new UsageError(`--${name} ${value}: expected a comma-separated list`);
  return items.map(parse);
}

/** A seeds flag: N (seeds first..first+N−1) or a list, each seed once. */
function seedsFlag(name: string, text: string, first: number): number[] {
  const seeds = text.includes(',')
    ? listFlag(name, text, (s) => numberFlag(name, s, 0, NON_NEGATIVE_INTEGER))
    : Array.from({ length: numberFlag(name, text, 0, POSITIVE_INTEGER) }, (_, i) => first + i);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--${name} ${text}: a seed is given twice`);
  return seeds;
}

/** The spec the flags ask for. */
export function sweepSpec(flags: Record<string, string | boolean | undefined>): SweepSpec {
  if (flags.seeds === undefined) throw new UsageError('sweep: --seeds N (seeds 1..N) or --seeds S1,S2,... is required');
  const seeds = seedsFlag('seeds', String(flags.seeds), 1);
  const criteria = listFlag('criteria', String(flags.criteria ?? '1,2'), (c) => {
    if (c !== '1' && c !== '2') throw new UsageError(`--criteria ${flags.criteria}: expected 1, 2 or 1,2`);
    return Number(c);
  }) as (1 | 2)[];
  const trainPreset = String(flags['train-preset'] ?? 'cpu');
  const data = dataFlags(flags);
  return {
    seeds, criteria: [...new Set(criteria)], preset: String(flags.preset ?? 'cpu'), trainPreset: trainPreset === 'none' ? null : trainPreset,
    random: numberFlag('random', flags.random as string | undefined, 0, NON_NEGATIVE_INTEGER),
    baselines: flags.baselines ? String(flags.baselines).split(',').map((s) => s.trim()).filter(Boolean) : [],
    ...(Object.values(data).some((v) => v !== undefined) && { data: { ...data, ...(data.dir && { dir: resolve(data.dir) }) } }),
    ...(flags['search-flags'] && { searchOverrides: searchOverrides(String(flags['search-flags'])) }),
    ...(flags['train-flags'] && { trainOverrides: trainOverrides(String(flags['train-flags'])) }),
    ...(flags['train-seeds'] !== undefined && { trainSeeds: seedsFlag('train-seeds', String(flags['train-seeds']), 0) }),
  };
}

const log = (line: string) => process.stderr.write(line + '\n');

export async function sweepCommand(argv: string[], _backend: () => Promise<Backend>, device: Partial<DeviceFlags> = {}): Promise<number> {
  const { values } = parseFlags('sweep', argv, {
    ...numericOptions(SWEEP_FLAG_RANGES), ...DATA_FLAGS,
    seeds: { type: 'string' }, criteria: { type: 'string' }, preset: { type: 'string' }, 'train-preset': { type: 'string' },
    baselines: { type: 'string' }, 'search-flags': { type: 'string' }, 'train-flags': { type: 'string' }, 'train-seeds': { type: 'string' },
    out: { type: 'string' }, redis: { type: 'string' },
    reuse: { type: 'string' },
    detach: { type: 'boolean' }, status: { type: 'boolean' }, collect: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  const flags = values as Record<string, string | boolean | undefined>;
  checkNumericFlags(flags, SWEEP_FLAG_RANGES);
  if (flags.help) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const url = flags.redis as string | undefined;
  if ((flags.status || flags.collect || flags.detach) && !url) throw new UsageError('--status, --collect and --detach work on a queue: add --redis redis://HOST:PORT');
  if (url && flags.jobs !== undefined) throw new UsageError('--jobs is for sweeps on this machine; with --redis, start sgas worker where the jobs should run');
  if (url && flags.reuse !== undefined) throw new UsageError('--reuse copies finished jobs into a sweep on this machine; with --redis, run the sweep without it');
  const deviceFlag = [device.choice && device.choice !== 'auto' && `--backend ${device.choice}`, device.adapter && `--adapter ${device.adapter}`, device.kernels && `--kernels ${device.kernels}`, device.threads && `--threads ${device.threads}`].find(Boolean);
  if (url && deviceFlag) throw new UsageError(`${deviceFlag} chooses this machine's device, and with --redis the jobs run on the workers: pass it to sgas worker, which picks its own`);
  if (url) await reachRedis(url);
  if (flags.status) return status(url!, flags.out as string | undefined);
  if (flags.collect) {
    const out = flags.out as string | undefined;
    const file = out && readSweepFile(out);
    if (!file) throw new UsageError(`--collect needs --out, the folder the sweep was started with (it holds sweep.json)`);
    report(await collectSweep(url!, file, out!, log), out!);
    return 0;
  }
  const spec = sweepSpec(flags);
  const out = String(flags.out ?? `runs/sweep-${spec.preset}`);
  const controller = new AbortController();
  const interrupted = () => {
    log('sgas sweep: stopping the jobs after their step in progress (Ctrl-C again ends it at once)');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    if (url) {
      const file = openSweep(spec, out, () => `${basename(resolve(out)).replace(/[^\w.-]/g, '_')}-${randomBytes(3).toString('hex')}`);
      const board = await sweepOnQueue(url, file, out, { detach: Boolean(flags.detach), log, signal: controller.signal });
      if (board) report(board, out);
      return 0;
    }
    const jobs = numberFlag('jobs', flags.jobs as string | undefined, 1, POSITIVE_INTEGER);
    const { choice: backend, adapter, kernels, threads } = device;
    const reuse = flags.reuse as string | undefined;
    report(await sweep({ ...spec, out, jobs, backend, adapter, kernels, threads, reuse }, { log, signal: controller.signal }), out);
    return 0;
  } catch (e) {
    if (!(e instanceof SweepStoppedError) && !controller.signal.aborted) throw e;
    log(`sgas sweep: ${e instanceof SweepStoppedError ? e.message : 'stopped waiting; the queued jobs go on: collect them later with --collect'}`);
    return 130;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}

function report(board: ReturnType<typeof finishSweep>, out: string): void {
  for (const g of board.groups) {
    const acc = g.testAccuracy ?? g.validAccuracy;
    process.stdout.write(`${g.group.padEnd(16)} ${acc ? `${(100 * acc.mean).toFixed(2)} ± ${(100 * acc.std).toFixed(2)} %` : '—'}  (${g.runs - g.failed} of ${g.runs} runs)\n`);
  }
  for (const v of board.versusRandom) process.stdout.write(`${versusRandomVerdict(v)}\n`);
  process.stdout.write(`leaderboard: ${out}/leaderboard.md\n`);
}

/** Every job on the queue (or the sweep in `out`), by sweep. */
async function status(url: string, out: string | undefined): Promise<number> {
  const queue = await openQueue(url);
  try {
    const only = out ? readSweepFile(out)?.id : undefined;
    if (out && !only) throw new UsageError(`--out ${out}: no sweep.json there`);
    const jobs = await queue.getJobs(['active', 'waiting', 'waiting-children', 'prioritized', 'delayed', 'completed', 'failed']);
    const statuses = (await Promise.all(jobs.map((j) => jobStatus(j as never)))).filter((s) => !only || s.sweep === only);
    if (!statuses.length) process.stdout.write(`no sweep jobs on ${url}\n`);
    for (const sweepId of [...new Set(statuses.map((s) => s.sweep))].sort()) {
      const mine = statuses.filter((s) => s.sweep === sweepId).sort((a, b) => a.name.localeCompare(b.name));
      const counts = [...new Set(mine.map((s) => s.state))].map((state) => `${mine.filter((s) => s.state === state).length} ${state}`);
      process.stdout.write(`sweep ${sweepId}: ${counts.join(', ')}\n${mine.map((s) => `  ${statusLine(s)}\n`).join('')}`);
    }
    return 0;
  } finally {
    await queue.close();
  }
}
