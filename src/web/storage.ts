// The page's search state in IndexedDB: one record, rewritten after every epoch, holding what a
// reload needs to show the search and continue it exactly (the checkpoint bytes are the same as
// the CLI's checkpoint.bin).
import type { EpochRecord } from '../search/search.ts';
import type { StepPosition } from './protocol.ts';
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

const DATABASE = 'sgas-webgpu';
const STORE = 'search';
const KEY = 'current';

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

/** Resolves once the transaction has committed, so a reload right after sees the write. */
async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode, { durability: 'strict' });
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = tx.onabort = () => reject(new Error(`IndexedDB: ${tx.error?.message ?? request.error?.message ?? 'transaction failed'}`));
  });
}

export async function saveSearch(search: StoredSearch): Promise<void> {
  await transact('readwrite', (store) => store.put(search, KEY));
}

export async function loadSearch(): Promise<StoredSearch | null> {
  return (await transact<StoredSearch | undefined>('readonly', (store) => store.get(KEY))) ?? null;
}

export async function clearSearch(): Promise<void> {
  await transact('readwrite', (store) => store.delete(KEY));
}
