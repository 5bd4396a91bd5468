// The page's search state in IndexedDB: one record, rewritten after every epoch, holding what a
// reload needs to show the search and continue it exactly (the checkpoint bytes are the same as
// the CLI's checkpoint.bin). The record before it is kept too, as checkpoint.prev.bin is, and a
// reload checks the newest checkpoint's checksum and falls back to the one before when it is damaged.
import { CheckpointError, verifyCheckpoint } from '../search/checkpoint.ts';
import type { EpochRecord } from '../search/search.ts';
import type { FolderSettings, FolderSummary, ImageFolder, StepPosition } from './protocol.ts';
import type { SearchReport, SearchSettings } from './session.ts';

export interface StoredSearch {
  settings: SearchSettings;
  checkpoint: Uint8Array;
  records: EpochRecord[];
  /** genotype.json once the search has finished. */
  report: SearchReport | null;
  /** Where a search paused inside an epoch stands (absent in records written before pauses could). */
  at?: StepPosition | null;
  savedAt: string;
}

/** The user's folder a search runs on, kept once beside it (not with every epoch's save): a reload resumes without the files. */
export interface StoredFolder {
  /** No files: its decoded images, 8-bit (kept). */
  folder: ImageFolder;
  settings: FolderSettings;
  summary: FolderSummary;
  /** The search's training images, in order. */
  files: string[];
}

export interface RestoredSearch extends StoredSearch {
  /** Why the newest save was passed over for the one before it; null when it was intact. */
  fallback: string | null;
}

const DATABASE = 'sgas-webgpu';
const STORE = 'search';
const NEWEST = 'current';
const PREVIOUS = 'previous';
const FOLDER = 'folder';

let database: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  database ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`IndexedDB: cannot open '${DATABASE}' (${request.error?.message})`));
  });
  return database;
}

/**
 * Runs `work` in one transaction and resolves with what its returned function reads, once the
 * transaction has committed (so a reload right after sees the write).
 */
async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => () => T): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode, { durability: 'strict' });
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result());
    tx.onerror = tx.onabort = () => reject(new Error(`IndexedDB: ${tx.error?.message ?? 'transaction failed'}`));
  });
}

/** Saves the search; the save it replaces becomes the previous one. */
export async function saveSearch(search: StoredSearch): Promise<void> {
  await transact('readwrite', (store) => {
    const newest = store.get(NEWEST);
    newest.onsuccess = () => {
      if (newest.result) store.put(newest.result, PREVIOUS);
      store.put(search, NEWEST);
    };
    return () => undefined;
  });
}

/**
 * The newest save whose checkpoint is intact: the newest, or the one before it, saying why.
 * Both damaged: a CheckpointError naming each damage.
 */
export async function loadSearch(): Promise<RestoredSearch | null> {
  const saves = await transact('readonly', (store) => {
    const [newest, previous] = [store.get(NEWEST), store.get(PREVIOUS)];
    return () => [[newest.result, 'the newest saved checkpoint'], [previous.result, 'the checkpoint saved before it']] as [StoredSearch | undefined, string][];
  });
  const problems: string[] = [];
  for (const [stored, which] of saves) {
    if (!stored) continue;
    try {
      if (!(stored.checkpoint instanceof Uint8Array)) throw new CheckpointError(`${which} is missing from its save`);
      verifyCheckpoint(stored.checkpoint, which);
      return { ...stored, fallback: problems.length ? `${problems.join('; ')}: restored ${which}` : null };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length) throw new CheckpointError(`no intact checkpoint: ${problems.join('; ')}`);
  return null;
}

/** Forgets the search and its folder. */
export async function clearSearch(): Promise<void> {
  await transact('readwrite', (store) => {
    for (const key of [NEWEST, PREVIOUS, FOLDER]) store.delete(key);
    return () => undefined;
  });
}

export async function saveFolder(folder: StoredFolder): Promise<void> {
  await transact('readwrite', (store) => {
    store.put(folder, FOLDER);
    return () => undefined;
  });
}

export async function loadFolder(): Promise<StoredFolder | null> {
  return transact('readonly', (store) => {
    const request = store.get(FOLDER);
    return () => (request.result as StoredFolder | undefined) ?? null;
  });
}
