// sgas sweep --redis with sgas worker processes on a real redis-server: a worker SIGKILLed after
// its first checkpoint, another worker's Ctrl-C, Redis killed and restarted from its append-only
// file, and a job failing its three tries; the genotypes found equal plain searches, bit for bit.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { search, type SearchOutcome } from '../src/jobs/search.ts';
import { buildCli, finished, run, sgas, type Finished } from './helpers/cli.ts';
import { skipRedis, startRedis, type TestRedis } from './helpers/redis.ts';

const temp: string[] = [];
const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sgas-${name}-`));
  temp.push(dir);
  return dir;
};
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

let redis: TestRedis;
const workers: ChildProcess[] = [];
before(async () => {
  if (skipRedis) return;
  buildCli();
  redis = await startRedis();
});
after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await redis?.stop();
  temp.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** A worker whose stderr lines can be waited for. */
interface TestWorker {
  child: ChildProcess;
  work: string;
  log: string[];
  exited: Promise<Finished>;
  /** Resolves with the first line that matches: already seen, or (fresh) from now on only. */
  line(pattern: RegExp, fresh?: boolean): Promise<string>;
}

function startWorker(): TestWorker {
  const work = tempDir('work');
  const child = sgas(['worker', '--redis', redis.url, '--backend', 'wasm', '--stalled-after', '5', '--work', work]);
  workers.push(child);
  const log: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      log.push(line);
      if (process.env.SGAS_TEST_VERBOSE) console.log(`worker ${child.pid}: ${line}`);
      for (const w of waiting.filter((w) => w.pattern.test(line))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  return {
    child, work, log, exited: finished(child),
    line: (pattern, fresh = false) => new Promise((resolve) => {
      const seen = fresh ? undefined : log.find((l) => pattern.test(l));
      if (seen) resolve(seen);
      else waiting.push({ pattern, resolve });
    }),
  };
}

/** Two workers, both waiting for jobs, so each takes one of the sweep's two. */
async function twoWorkers(): Promise<[TestWorker, TestWorker]> {
  const pair: [TestWorker, TestWorker] = [startWorker(), startWorker()];
  await Promise.all(pair.map((w) => w.line(/taking jobs from/)));
  return pair;
}

const SWEEP = ['--seeds', '1,2', '--criteria', '1', '--preset', 'tiny', '--train-preset', 'none', '--search-flags', '--max-images 64'];
let plain: SearchOutcome[] = [];

/** The genotype and alphas of each search of the sweep in `out` equal a plain search's with its seed. */
async function assertPlainGenotypes(out: string): Promise<void> {
  if (!plain.length) {
    plain = await Promise.all([1, 2].map((seed) => search({ preset: 'tiny', overrides: { maxImages: 64 }, seed, criterion: 1, out: join(tempDir('plain'), 'run'), backend: 'wasm' })));
  }
  for (const seed of [1, 2]) {
    const swept = readJson(join(out, `search-cri1-seed${seed}`, 'genotype.json'));
    assert.deepEqual([swept.python, swept.alphas], [plain[seed - 1]!.report.python, plain[seed - 1]!.report.alphas], `seed ${seed}`);
  }
}

test('two workers, one SIGKILLed after its first checkpoint: the other takes its job over and both genotypes equal plain searches', { skip: skipRedis }, async () => {
  const out = tempDir('sweep-kill');
  const [a, b] = await twoWorkers();
  const sweeping = run(['sweep', '--redis', redis.url, ...SWEEP, '--out', out]);
  // Whichever worker stores a checkpoint first is killed; the other one finishes its own job, then this one.
  const first = await Promise.race([
    ...[a, b].map((w) => w.line(/: epoch 1\/9 .*checkpoint stored/).then((line) => ({ w, line }))),
    sweeping.then((d) => Promise.reject(new Error(`the sweep ended first: ${d.stderr}`))),
  ]);
  first.w.child.kill('SIGKILL');
  const killedJob = first.line.split(':')[0]!;
  const survivor = first.w === a ? b : a;
  const done = await sweeping;
  assert.equal(done.code, 0, done.stderr);
  assert.match(await survivor.line(new RegExp(`${killedJob}: continuing from its stored checkpoint`)), /continuing/);
  assert.ok(existsSync(join(out, killedJob, 'checkpoint.bin')) && existsSync(join(out, 'leaderboard.md')));
  await assertPlainGenotypes(out);
  const status = await run(['sweep', '--redis', redis.url, '--status', '--out', out]);
  assert.match(status.stdout, /2 completed/);
  survivor.child.kill('SIGINT');
  assert.equal((await survivor.exited).code, 0, 'an idle worker stops at once on Ctrl-C');
});

test('Ctrl-C hands a job back; Redis killed and restarted mid-sweep; a job failing three times is listed', { skip: skipRedis }, async () => {
  const out = tempDir('sweep-restart');
  const [other, c] = await twoWorkers();
  const sweeping = run(['sweep', '--redis', redis.url, ...SWEEP, '--out', out]);
  // c stops after the step in progress, hands its job back with its checkpoint, and ends cleanly.
  const stored = await c.line(/: epoch 1\/9 .*checkpoint stored/);
  const handedBack = stored.split(':')[0]!;
  c.child.kill('SIGINT');
  const stopped = await c.exited;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(c.log.join('\n'), new RegExp(`${handedBack}: handed back to the queue`));
  assert.deepEqual(readdirSync(c.work).flatMap((sweep) => readdirSync(join(c.work, sweep))), [], 'its job folder, run.lock and all, is gone');
  // The other worker continues the handed-back job; Redis dies meanwhile and comes back from its append-only file.
  await other.line(new RegExp(`${handedBack}: epoch [2-7]/9 .*checkpoint stored`), true);
  await redis.restart(1000);
  const done = await sweeping;
  assert.equal(done.code, 0, done.stderr);
  await assertPlainGenotypes(out);

  // A search whose data is not there fails three times; its trainings (two seeds, chained) fail with it, so the sweep ends; it is listed.
  const failing = tempDir('sweep-fail');
  const failed = await run(['sweep', '--redis', redis.url, '--seeds', '1', '--criteria', '1', '--preset', 'tiny', '--train-preset', 'tiny', '--train-seeds', '2', '--data', '/nonexistent/images', '--out', failing]);
  assert.equal(failed.code, 0, failed.stderr);
  const board = readJson(join(failing, 'leaderboard.json'));
  assert.match(board.runs[0].failed.error, /nonexistent/);
  assert.equal(readJson(join(failing, 'search-cri1-seed1', 'failed.json')).attempts, 3);
  assert.match(readFileSync(join(failing, 'leaderboard.md'), 'utf8'), /## Not finished[\s\S]*search-cri1-seed1 \| .*nonexistent/);
  // Stopped, so that the next sweep's jobs go to its own workers.
  other.child.kill('SIGINT');
  assert.equal((await other.exited).code, 0);
});

test('--train-seeds on the queue: the trainings of a search follow it one after another, each with its seed and the found cell', { skip: skipRedis }, async () => {
  const out = tempDir('sweep-seeds');
  const worker = startWorker();
  await worker.line(/taking jobs from/);
  const done = await run(['sweep', '--redis', redis.url, '--seeds', '1', '--criteria', '1', '--preset', 'tiny', '--train-preset', 'tiny', '--train-flags', '--epochs 1', '--train-seeds', '3', '--out', out]);
  assert.equal(done.code, 0, done.stderr);
  const found = readJson(join(out, 'search-cri1-seed1', 'genotype.json')).python;
  const names = ['train-cri1-seed1', 'train-cri1-seed1-tseed1', 'train-cri1-seed1-tseed2'];
  const results = names.map((name) => readJson(join(out, name, 'result.json')));
  assert.deepEqual(results.map((r) => r.python), [found, found, found]);
  assert.deepEqual(names.map((name) => readJson(join(out, name, 'run.json')).config.seed), [0, 1, 2]);
  const row = readJson(join(out, 'leaderboard.json')).runs[0];
  assert.deepEqual(row.testAccuracies, results.map((r) => r.testAccuracy));
  const started = names.map((name) => worker.log.findIndex((l) => l.startsWith(`${name}: starting`)));
  assert.ok(started.every((i) => i >= 0) && [...started].sort((a, b) => a - b).join() === started.join(), `trainings in seed order: ${started}`);
  worker.child.kill('SIGINT');
  assert.equal((await worker.exited).code, 0);
});
