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
  /**
   * When its save was asked for, as StoredSearch's (absent in records written before discards were
   * noted): a save asked for before a discard and run after it is one the discard drops.
   */
  savedAt?: string;
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
/** Every record the store holds: what a discard forgets. */
const RECORDS = [NEWEST, PREVIOUS, FOLDER];
/**
 * A discard has to hold when the page goes away right after it (a reload, a closed tab): IndexedDB's
 * delete is a transaction that may wait behind a save in progress and not commit before the page
 * unloads, and the search would come back. So a discard is first noted in localStorage, which is
 * written at once: the next load drops every save made before the note, and the delete's commit
 * takes the note away. Where localStorage cannot be used (an opaque origin) nothing is noted.
 */
const DISCARDED = 'sgas-webgpu:discarded-at';

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

function localStore(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

function discardNote(): string | null {
  return localStore()?.getItem(DISCARDED) ?? null;
}

function endDiscardNote(note: string | null): void {
  if (note !== null && discardNote() === note) localStore()?.removeItem(DISCARDED);
}

/**
 * Notes, at once and so even if the page unloads next, that every save made until now is discarded;
 * the note to hand to the clearSearch that follows (null where none could be written).
 */
export function noteDiscard(): string | null {
  const note = new Date().toISOString();
  try {
    localStore()?.setItem(DISCARDED, note);
    return note;
  } catch {
    // A full or refused localStorage leaves the discard to IndexedDB's delete alone.
    return null;
  }
}

/** Forgets the search and its folder; then ends the discard's note, unless a later discard has replaced it. */
export async function clearSearch(note: string | null = null): Promise<void> {
  await transact('readwrite', (store) => {
    for (const key of RECORDS) store.delete(key);
    return () => undefined;
  });
  endDiscardNote(note);
}

/** Deletes the saves a discard noted and did not get to delete, the page having gone first; run before loading. */
export async function dropDiscarded(): Promise<void> {
  const note = discardNote();
  if (note === null) return;
  await transact('readwrite', (store) => {
    for (const key of RECORDS) {
      const request = store.get(key);
      request.onsuccess = () => {
        const saved = request.result as { savedAt?: string } | undefined;
        if (saved && !(saved.savedAt && saved.savedAt > note)) store.delete(key);
      };
    }
    return () => undefined;
  });
  endDiscardNote(note);
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
