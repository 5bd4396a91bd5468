// One writer per run folder: run.lock, created exclusively, names the process that writes there
// (the sgas process the user started: with the native-noise filter, the parent its worker dies with).
// A second process refuses, naming it. A lock whose process is gone is taken over: on the same
// machine that is known for sure (the pid is not running, or runs a later process); a lock from
// another machine (a folder shared between sweep workers) counts as gone once it has not been
// confirmed for staleAfterMs. The writer confirms its lock at every step and before every
// checkpoint, and stops if another process has taken the folder over meanwhile.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './args.ts';
import { ensureFolder, removeTempFiles, writeError } from './files.ts';
import { cliPid } from './nativeNoise.ts';

export const LOCK_FILE = 'run.lock';

/** What run.lock holds. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Linux: the boot and the process's start time, so a pid reused by a later process does not count. */
  boot: string;
  started: string;
  command: string;
  since: string;
  token: string;
}

export interface RunLock {
  readonly path: string;
  /** Marks the lock as alive; throws if another process took the folder over. */
  confirm(): void;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

export interface LockOptions {
  /** What runs there, as the refusal shows it (e.g. 'sgas search'). */
  command: string;
  log: (line: string) => void;
  /** A lock from another machine not confirmed for this long is taken over (default 10 minutes). */
  staleAfterMs?: number;
}

const DEFAULT_STALE_MS = 10 * 60_000;
/** A lock file being written by its creator has no content yet for a moment. */
const UNREADABLE_GRACE_MS = 10_000;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

const bootId = () => readText('/proc/sys/kernel/random/boot_id');

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot ('' off Linux). */
function processStart(pid: number): string {
  return readText(`/proc/${pid}/stat`).replace(/^.*\) /s, '').split(' ')[19] ?? '';
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8'));
    return Number.isSafeInteger(owner?.pid) && typeof owner.token === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/** Why the lock's holder no longer counts, or null while it does. */
function goneBecause(owner: LockOwner | null, ageMs: number, staleAfterMs: number): string | null {
  if (!owner) return ageMs > UNREADABLE_GRACE_MS ? 'its lock file is unreadable' : null;
  if (owner.host === hostname() && owner.boot === bootId()) {
    if (!running(owner.pid)) return 'no longer running';
    return owner.started && processStart(owner.pid) !== owner.started ? 'no longer running (its pid is now another process)' : null;
  }
  return ageMs > staleAfterMs ? `silent for ${Math.round(ageMs / 60_000)} min` : null;
}

function describe(owner: LockOwner | null): string {
  if (!owner) return 'another process (its lock file is being written)';
  const where = owner.host === hostname() ? '' : ` on ${owner.host}`;
  return `${owner.command} (pid ${owner.pid}${where}, since ${owner.since})`;
}

function create(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeError(path, e);
  }
  try {
    writeSync(fd, JSON.stringify(owner, null, 2) + '\n');
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw writeError(path, e);
  }
  return true;
}

/**
 * Moves a dead holder's lock aside. Two processes may judge the same lock dead at once; whichever
 * moves it second has moved the winner's new lock instead, sees the token differ, and puts it back.
 */
function takeOver(path: string, dead: LockOwner | null): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = readOwner(aside);
  if (moved && moved.token !== dead?.token) {
    try {
      linkSync(aside, path);
    } catch {
      // A third process created a lock meanwhile: it holds the folder now.
    }
  }
  rmSync(aside, { force: true });
}

/** Takes the run folder `dir` (created if missing) for this process, or refuses with the holder's pid. */
export function lockRunFolder(dir: string, options: LockOptions): RunLock {
  ensureFolder(dir);
  const path = join(dir, LOCK_FILE);
  const pid = cliPid();
  const owner: LockOwner = {
    pid, host: hostname(), boot: bootId(), started: processStart(pid),
    command: options.command, since: new Date().toISOString(), token: randomUUID(),
  };
  for (let attempt = 0; !create(path, owner); attempt++) {
    const holder = readOwner(path);
    let ageMs: number;
    try {
      ageMs = Date.now() - statSync(path).mtimeMs;
    } catch {
      continue;
    }
    const gone = goneBecause(holder, ageMs, options.staleAfterMs ?? DEFAULT_STALE_MS);
    if (!gone || attempt >= 3) {
      throw new UsageError(`${dir} is in use by ${describe(holder)}: one process writes to a run folder at a time; wait for it to end, or stop it`);
    }
    options.log(`${dir}: taking over the lock of ${holder ? `pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}` : 'an unknown process'} (${gone})`);
    takeOver(path, holder);
  }
  // Nobody else writes here now: what writers killed mid-write left is garbage.
  removeTempFiles(dir);
  return {
    path,
    confirm() {
      const holder = readOwner(path);
      if (holder?.token !== owner.token) {
        throw new Error(`${dir} was taken over by ${describe(holder)}: this process stops writing to it`);
      }
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch (e) {
        throw writeError(path, e);
      }
    },
    release() {
      if (readOwner(path)?.token === owner.token) rmSync(path, { force: true });
    },
  };
}

/**
 * Runs `work` holding the folder's lock, and lets the lock go however the work ends; a folder made
 * for it that the work left empty (it failed before writing anything) goes too.
 */
export async function inRunFolder<T>(dir: string, options: LockOptions, work: (lock: RunLock) => Promise<T>): Promise<T> {
  const made = !existsSync(dir);
  const lock = lockRunFolder(dir, options);
  try {
    return await work(lock);
  } finally {
    lock.release();
    if (made && readdirSync(dir).length === 0) rmdirSync(dir);
  }
}
