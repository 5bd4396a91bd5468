// One search in the page: start, pause (requestStop, which ends after the current epoch), resume
// from memory or, after a reload, from IndexedDB. The state is saved after every epoch. No DOM
// here: main.ts draws what the listeners report.
import type { Backend } from '../../runtime/index.ts';
import { searchReport, type SearchReport } from '../search/report.ts';

export type { SearchReport };
import type { Dataset } from '../data/dataset.ts';
import { searchEpochs, validateConfig, type SearchConfig } from '../search/config.ts';
import { prepareSearchData, Search, type EpochRecord, type StepInfo } from '../search/search.ts';
import { clearSearch, loadSearch, saveSearch, type StoredSearch } from './storage.ts';
import { describeLoss, runSurvivingDeviceLoss, type DeviceLoss } from '../train/deviceLoss.ts';

export type SessionState = 'idle' | 'loading' | 'running' | 'pausing' | 'paused' | 'finished' | 'failed';

export interface SearchSettings {
  preset: string;
  config: SearchConfig;
}

/** genotype.json: the fields `sgas search` writes. */

export interface SessionListener {
  state?(state: SessionState, message: string): void;
  step?(info: StepInfo): unknown;
  /** After each epoch, once its state is in IndexedDB. */
  epoch?(record: EpochRecord, checkpoint: Uint8Array): unknown;
  finished?(report: SearchReport): unknown;
}

export class SearchSession {
  state: SessionState = 'idle';
  message = '';
  settings: SearchSettings | null = null;
  records: readonly EpochRecord[] = [];
  checkpoint: Uint8Array | null = null;
  report: SearchReport | null = null;
  /** Epochs whose state IndexedDB holds. */
  savedEpochs = 0;
  /** The GPU devices lost (and replaced) while this page searched. */
  readonly deviceLosses: DeviceLoss[] = [];
  private search: Search | null = null;
  /** The backend opened in place of one whose device was lost. */
  private replacement: Backend | null = null;
  private readonly listeners = new Set<SessionListener>();

  constructor(
    private readonly backend: () => Promise<Backend>,
    private readonly data: () => Promise<Dataset>,
  ) {}

  listen(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get epochs(): number {
    return this.settings ? searchEpochs(this.settings.config) : 0;
  }

  /** Takes up what IndexedDB holds after a reload: a paused search, or a finished one. */
  async restore(): Promise<StoredSearch | null> {
    const stored = await loadSearch();
    if (!stored) return null;
    this.settings = stored.settings;
    this.records = stored.records;
    this.checkpoint = stored.checkpoint;
    this.report = stored.report;
    this.savedEpochs = stored.records.length;
    this.setState(stored.report ? 'finished' : 'paused', `${stored.records.length} of ${this.epochs} epochs done (restored)`);
    return stored;
  }

  /** A new search; whatever was stored before is discarded. Resolves when it finishes or pauses. */
  async start(settings: SearchSettings): Promise<void> {
    if (this.busy) throw new Error(`a search is ${this.state}: pause it first`);
    validateConfig(settings.config);
    this.release();
    this.settings = settings;
    this.records = [];
    this.checkpoint = null;
    this.report = null;
    this.savedEpochs = 0;
    await this.prepare(async () => {
      await clearSearch();
      const [backend, data] = await Promise.all([this.currentBackend(), this.data()]);
      this.search = new Search(backend, settings.config, prepareSearchData(data, settings.config));
    });
    if (this.search) await this.drive(this.search);
  }

  /** Continues a paused search: the one in memory, or the stored checkpoint after a reload. */
  async resume(): Promise<void> {
    if (this.state !== 'paused') throw new Error(`nothing to resume (the search is ${this.state})`);
    if (!this.search) {
      const checkpoint = this.checkpoint!;
      await this.prepare(async () => {
        const [backend, data] = await Promise.all([this.currentBackend(), this.data()]);
        this.search = Search.fromCheckpoint(backend, checkpoint, data, 'the stored search (IndexedDB)');
      });
    }
    if (this.search) await this.drive(this.search);
  }

  /** Resumes from checkpoint bytes made elsewhere (a CLI run's checkpoint.bin). */
  async resumeFrom(checkpoint: Uint8Array, preset: string): Promise<void> {
    if (this.busy) throw new Error(`a search is ${this.state}: pause it first`);
    this.release();
    await this.prepare(async () => {
      const [backend, data] = await Promise.all([this.currentBackend(), this.data()]);
      const search = Search.fromCheckpoint(backend, checkpoint, data, 'checkpoint.bin');
      this.search = search;
      this.settings = { preset, config: search.config };
      this.records = [...search.records];
      this.checkpoint = checkpoint;
      this.report = null;
      this.savedEpochs = 0;
    });
    if (this.search) await this.drive(this.search);
  }

  pause(): void {
    if (this.state !== 'running' || !this.search) return;
    this.search.requestStop();
    this.setState('pausing', 'after this epoch');
  }

  /** log.jsonl: one epoch record per line, as `sgas search` writes them. */
  logJsonl(): string {
    return this.records.map((r) => JSON.stringify({ type: 'epoch', ...r }) + '\n').join('');
  }

  /** Forgets the search, here and in IndexedDB. */
  async discard(): Promise<void> {
    if (this.busy) throw new Error(`a search is ${this.state}: pause it first`);
    this.release();
    this.settings = null;
    this.records = [];
    this.checkpoint = null;
    this.report = null;
    this.savedEpochs = 0;
    await clearSearch();
    this.setState('idle', '');
  }

  get busy(): boolean {
    return this.state === 'loading' || this.state === 'running' || this.state === 'pausing';
  }

  private async prepare(work: () => Promise<void>): Promise<void> {
    this.setState('loading', 'loading the data and building the network');
    try {
      await work();
    } catch (e) {
      this.search = null;
      this.failed(e as Error);
    }
  }

  private async drive(first: Search): Promise<void> {
    let search = first;
    this.setState('running', `${search.epoch} of ${search.epochs} epochs done`);
    try {
      // A lost GPU device is replaced on the same adapter and the last epoch's checkpoint resumed.
      const { runner, result } = await runSurvivingDeviceLoss(search, {
        step: async (info) => {
          for (const l of this.listeners) await l.step?.(info);
        },
        checkpoint: async (bytes) => {
          this.records = [...search.records];
          this.checkpoint = bytes;
          await this.save(null);
          if (this.state === 'running') this.setState('running', `${search.epoch} of ${search.epochs} epochs done`);
          for (const l of this.listeners) await l.epoch?.(search.records.at(-1)!, bytes);
        },
      }, {
        from: this.checkpoint,
        restart: (backend, checkpoint) => search.restart(backend, checkpoint),
        report: (loss, resumed) => {
          this.search = search = resumed;
          this.replacement = resumed.backend;
          this.deviceLosses.push(loss);
          if (this.state === 'running') this.setState('running', describeLoss(loss));
        },
      });
      if (!result) {
        this.setState('paused', `${runner.epoch} of ${runner.epochs} epochs done`);
        return;
      }
      const report = searchReport(runner, result);
      this.report = report;
      await this.save(report);
      this.release();
      this.setState('finished', `${result.epochs} epochs in ${report.seconds.toFixed(0)} s`);
      for (const l of this.listeners) await l.finished?.(report);
    } catch (e) {
      this.failed(e as Error);
    }
  }

  /** The backend searches run on: the page's, or the one opened in place of it after its device was lost. */
  currentBackend(): Promise<Backend> {
    return this.replacement ? Promise.resolve(this.replacement) : this.backend();
  }

  private async save(report: SearchReport | null): Promise<void> {
    await saveSearch({ settings: this.settings!, checkpoint: this.checkpoint!, records: [...this.records], report, savedAt: new Date().toISOString() });
    this.savedEpochs = this.records.length;
  }

  private failed(error: Error): void {
    this.release();
    this.setState('failed', error.message);
  }

  private release(): void {
    this.search?.release();
    this.search = null;
  }

  private setState(state: SessionState, message: string): void {
    this.state = state;
    this.message = message;
    for (const l of this.listeners) l.state?.(state, message);
  }
}
