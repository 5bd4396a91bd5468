// run.json, which every run folder holds from its start: what a resume reads when it is not told.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_SOURCE } from '../data/load.ts';

/** run.json of the folder, or nothing where there is none. */
export function readRunFile<T>(dir: string): Partial<T> {
  const path = join(dir, 'run.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
}

/** The --data a run used, as its run.json records it (undefined: the embedded data). */
export function runDataDir(run: { data?: string }): string | undefined {
  return run.data === EMBEDDED_SOURCE ? undefined : run.data;
}
