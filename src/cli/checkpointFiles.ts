// A run folder's checkpoints: checkpoint.bin, the newest, and checkpoint.prev.bin, the one before.
// checkpoint.bin is replaced only by a complete, flushed file, and the one it replaces (if it is
// intact) becomes checkpoint.prev.bin first, so a crash at any moment leaves a whole
// checkpoint.bin, and bytes damaged later on the disk still leave the epoch before to resume from.
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CheckpointError, verifyCheckpoint } from '../search/checkpoint.ts';
import { commitTemp, writeError, WriteError, writeTemp } from './files.ts';

export const CHECKPOINT = 'checkpoint.bin';
export const PREVIOUS_CHECKPOINT = 'checkpoint.prev.bin';

/** checkpoint.prev.bin beside a checkpoint.bin (or X.prev.bin beside any X.bin). */
export function previousOf(path: string): string {
  return path.replace(/(\.bin)?$/, '.prev$1');
}

/** The folder's entry is on the disk too, not only the file's data (rename is a change to the folder). */
function syncFolder(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether the file is a whole checkpoint; a damaged one is not worth keeping as the previous. */
function intact(path: string): boolean {
  try {
    verifyCheckpoint(new Uint8Array(readFileSync(path)), path);
    return true;
  } catch (e) {
    if (e instanceof CheckpointError) return false;
    throw e;
  }
}

export function writeCheckpoint(dir: string, bytes: Uint8Array): void {
  const path = join(dir, CHECKPOINT);
  const temp = writeTemp(path, bytes, true);
  if (existsSync(path) && intact(path)) {
    const previous = join(dir, PREVIOUS_CHECKPOINT);
    const previousTemp = `${previous}.${process.pid}.tmp`;
    try {
      // A second name for the same file; a copy where the file system has no hard links.
      try {
        linkSync(path, previousTemp);
      } catch {
        copyFileSync(path, previousTemp);
      }
      commitTemp(previousTemp, previous);
      // A crash right after the last rotation leaves both names on one file; renaming a link over
      // another link to the same file does nothing (POSIX), so the temp name is still there.
      rmSync(previousTemp, { force: true });
    } catch (e) {
      rmSync(temp, { force: true });
      rmSync(previousTemp, { force: true });
      throw writeError(previous, e);
    }
  }
  commitTemp(temp, path);
  try {
    syncFolder(dir);
  } catch (e) {
    throw writeError(dir, e);
  }
}

export interface LoadedCheckpoint {
  bytes: Uint8Array;
  /** The file the bytes came from: `path`, or its previous checkpoint. */
  path: string;
}

/**
 * The checkpoint at `path` (a checkpoint.bin) after checking every byte; when it is damaged or
 * missing, the previous one beside it, saying so through `log`. Both damaged: a CheckpointError
 * naming each damage. Neither there: null.
 */
export function readCheckpoint(path: string, log: (line: string) => void): LoadedCheckpoint | null {
  const problems: string[] = [];
  for (const candidate of [path, previousOf(path)]) {
    if (!existsSync(candidate)) {
      if (candidate === path) problems.push(`${path} is missing`);
      continue;
    }
    const bytes = new Uint8Array(readFileSync(candidate));
    try {
      const { checksummed } = verifyCheckpoint(bytes, candidate);
      if (problems.length) log(`${problems.join('; ')}: using ${candidate}, the checkpoint before it`);
      if (!checksummed) log(`${candidate} was written before checkpoints carried a checksum: read without a check; the next one written carries one`);
      return { bytes, path: candidate };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 1) throw new CheckpointError(`no intact checkpoint: ${problems.join('; ')}`);
  if (problems.length && existsSync(path)) throw new CheckpointError(`${problems[0]}, and there is no ${basename(previousOf(path))} beside it to fall back to`);
  return null;
}

/** Whether the folder holds a checkpoint (either), so a new run there would overwrite a run's state. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT)) || existsSync(join(dir, PREVIOUS_CHECKPOINT));
}

/**
 * A failed write says what is left to go on from: the newest checkpoint is only ever replaced
 * whole, so the one after `savedEpochs` epochs is intact.
 */
export function withResumeHint(e: unknown, out: string, savedEpochs: number, command: string): unknown {
  if (!(e instanceof WriteError)) return e;
  const next = savedEpochs
    ? `the checkpoint after epoch ${savedEpochs} is intact: make room (or make the folder writable), then ${command} --resume ${out}`
    : 'no epoch was saved yet: make room, or choose another --out';
  return new WriteError(`${e.message}; ${next}`);
}
