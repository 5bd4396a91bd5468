// One writer per run folder: a second sgas on the same --out or --resume refuses, naming the first's
// pid; a lock whose process is gone (a dead pid, a reused pid, a silent other machine, an unreadable
// file) is taken over, saying so, by exactly one of the processes that find it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_FILE, lockRunFolder, type LockOwner } from '../src/cli/runLock.ts';
import { buildCli, finished, inParallel, root, run, sgas } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sgas-lock-'));
let folders = 0;
const folder = () => join(dir, `run-${folders++}`);

before(buildCli);
after(() => rmSync(dir, { recursive: true, force: true }));

function lockIn(out: string, notes: string[] = [], staleAfterMs?: number) {
  return lockRunFolder(out, { command: 'sgas test', log: (line) => notes.push(line), staleAfterMs });
}

/** Writes a run.lock as another process would have left it. */
function leaveLock(out: string, owner: Partial<LockOwner>, ageMs = 0): void {
  lockIn(out).release();
  const full: LockOwner = { pid: 1, host: hostname(), boot: '', started: '', command: 'sgas search', since: '2026-01-01T00:00:00.000Z', token: 'theirs', ...owner };
  const path = join(out, LOCK_FILE);
  writeFileSync(path, JSON.stringify(full));
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
}

/** What this process's own lock says of it: the machine's boot, and its start time. */
function mine(): LockOwner {
  const out = folder();
  const lock = lockIn(out);
  const owner = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')) as LockOwner;
  lock.release();
  return owner;
}

/** The pid of a process that has exited. */
const deadPid = () => Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']));

test('a folder locked by a live process is refused, naming it; its lock is released whole', () => {
  const out = folder();
  const lock = lockIn(out);
  assert.throws(() => lockIn(out), {
    name: 'UsageError',
    message: new RegExp(`^${out} is in use by sgas test \\(pid ${process.pid}, since \\S+\\): one process writes to a run folder at a time; wait for it to end, or stop it$`),
  });
  lock.confirm();
  lock.release();
  assert.equal(existsSync(join(out, LOCK_FILE)), false);
  lockIn(out).release();
});

test('a lock left by a dead process, or by a process whose pid is now another\'s, is taken over, saying so', () => {
  const { boot, started } = mine();
  for (const [owner, why] of [
    [{ pid: deadPid(), boot, started }, 'no longer running'],
    [{ pid: process.pid, boot, started: `${started}0` }, 'no longer running \\(its pid is now another process\\)'],
  ] as const) {
    const out = folder();
    leaveLock(out, owner);
    const notes: string[] = [];
    lockIn(out, notes).release();
    assert.deepEqual(notes.length, 1);
    assert.match(notes[0]!, new RegExp(`^${out}: taking over the lock of pid ${owner.pid} \\(${why}\\)$`));
  }
});

test('a lock from another machine counts until it has been silent for staleAfterMs; an unreadable one after a grace', () => {
  const out = folder();
  leaveLock(out, { host: 'worker-7', pid: 4242 }, 5 * 60_000);
  assert.throws(() => lockIn(out), /is in use by sgas search \(pid 4242 on worker-7, since 2026-01-01T00:00:00\.000Z\)/);
  const notes: string[] = [];
  lockIn(out, notes, 60_000).release();
  assert.deepEqual(notes, [`${out}: taking over the lock of pid 4242 on worker-7 (silent for 5 min)`]);

  leaveLock(out, { host: 'worker-7', pid: 4242 }, 11 * 60_000);
  lockIn(out, notes).release();
  assert.match(notes.at(-1)!, /silent for 11 min\)$/);

  lockIn(out).release();
  writeFileSync(join(out, LOCK_FILE), '');
  assert.throws(() => lockIn(out), /is in use by another process \(its lock file is being written\)/);
  utimesSync(join(out, LOCK_FILE), new Date(0), new Date(0));
  lockIn(out, notes).release();
  assert.match(notes.at(-1)!, /taking over the lock of an unknown process \(its lock file is unreadable\)$/);
});

test('a writer whose folder was taken over stops at its next confirm, and leaves the new lock alone', () => {
  const out = folder();
  const lock = lockIn(out);
  writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: 99999, host: 'elsewhere', command: 'sgas search', since: 'now', token: 'other' }));
  assert.throws(() => lock.confirm(), new RegExp(`^Error: ${out} was taken over by sgas search \\(pid 99999 on elsewhere, since now\\): this process stops writing to it$`));
  lock.release();
  assert.equal(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).token, 'other');
});

test('six processes finding the same dead lock: exactly one takes the folder', async () => {
  const out = folder();
  leaveLock(out, { pid: deadPid(), boot: mine().boot });
  // Each waits for the same moment, so that all of them find the dead lock at once.
  const script = `
    import { lockRunFolder } from './src/cli/runLock.ts';
    await new Promise((resolve) => setTimeout(resolve, Number(process.argv[2]) - Date.now()));
    try {
      lockRunFolder(process.argv[1], { command: 'racer', log: () => {} });
      process.stdout.write('won');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } catch (e) {
      process.stdout.write(e.name);
    }`;
  const at = String(Date.now() + 4000);
  const results = await inParallel([1, 2, 3, 4, 5, 6], 6, () =>
    finished(spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, out, at], { cwd: root })));
  assert.deepEqual(results.map((r) => r.stdout).sort(), ['UsageError', 'UsageError', 'UsageError', 'UsageError', 'UsageError', 'won']);
});

test('sgas search: a second process on the same --out or --resume refuses, naming the first\'s pid', async () => {
  const out = folder();
  const first = sgas(['search', '--preset', 'tiny', '--out', out, '--backend', 'wasm']);
  let exited = false;
  const ended = finished(first).finally(() => (exited = true));
  while (!existsSync(join(out, LOCK_FILE))) {
    if (exited) assert.fail(`the first search ended before it locked ${out}: ${(await ended).stderr}`);
    await sleep(20);
  }
  // Frozen, it holds the folder however long the refusals take.
  first.kill('SIGSTOP');
  const refusal = new RegExp(`^sgas: ${out} is in use by sgas search \\(pid ${first.pid}, since \\S+\\): one process writes to a run folder at a time`, 'm');
  for (const args of [['search', '--preset', 'tiny', '--out', out], ['search', '--resume', out], ['train', '--resume', out]]) {
    const second = await run([...args, '--backend', 'wasm']);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, refusal, args.join(' '));
  }
  first.kill('SIGKILL');
  await ended;
});
