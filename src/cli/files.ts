// Output files are written whole or not at all: a temp file beside the target, then rename. A
// write that fails (a full disk, a read-only folder) is one line that names the file and the cause,
// and leaves no temp file behind.
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export class WriteError extends Error {
  override name = 'WriteError';
}

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EIO: 'an input/output error on the device',
};

/** `cannot write PATH: the cause (CODE)`; any other error passes through. */
export function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof WriteError || !code || !(code in CAUSES)) return e;
  return new WriteError(`cannot write ${path}: ${CAUSES[code]} (${code})`);
}

/** mkdir -p, one level at a time: a recursive mkdir reports a read-only file system as ENOENT. */
export function ensureFolder(dir: string): void {
  if (existsSync(dir)) return;
  ensureFolder(dirname(dir));
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(dir, e);
  }
}

const TEMP = /\.\d+\.tmp$/;

/**
 * Writes `path`'s content to a temp file beside it and returns that file's name for commitTemp.
 * durable: flushed to the disk before it is renamed, so a power cut leaves the old file or the new.
 */
export function writeTemp(path: string, data: string | Uint8Array, durable = false): string {
  ensureFolder(dirname(path));
  const temp = `${path}.${process.pid}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let fd: number;
  try {
    fd = openSync(temp, 'w');
  } catch (e) {
    // No temp file was made (and where a part of the path is a file, removing one would fail too).
    throw writeError(path, e);
  }
  try {
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return temp;
  } catch (e) {
    rmSync(temp, { force: true });
    throw writeError(path, e);
  }
}

export function commitTemp(temp: string, path: string): void {
  try {
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw writeError(path, e);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  commitTemp(writeTemp(path, data), path);
}

/** Removes the temp files that writers killed mid-write left in `dir` (call it holding the folder's lock). */
export function removeTempFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((n) => TEMP.test(n))) rmSync(join(dir, name), { force: true });
}

/** Appends one JSON object per line (log.jsonl). */
export class JsonLines {
  constructor(private readonly path: string) {
    ensureFolder(dirname(path));
  }

  write(record: Record<string, unknown>): void {
    try {
      appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
    } catch (e) {
      throw writeError(this.path, e);
    }
  }

  /**
   * Keeps the records `keep` accepts and drops the rest, and any line cut short: a resumed run
   * drops what its interrupted predecessor logged after the checkpoint it resumes from.
   */
  retain(keep: (record: Record<string, unknown>) => boolean): void {
    if (!existsSync(this.path)) return;
    const kept = readFileSync(this.path, 'utf8').split('\n').filter((line) => {
      try {
        return keep(JSON.parse(line));
      } catch {
        return false;
      }
    });
    writeFileAtomic(this.path, kept.map((line) => line + '\n').join(''));
  }
}
