// One search as the page sees it: the engine Worker computes it, this keeps its state (settings,
// epoch records, the latest checkpoint, the report) and IndexedDB's copy, saved after every epoch
// and on every pause, so a reload offers to resume. Pause and discard ask the engine to stop after
// the step in progress. No DOM here: main.ts draws what the listeners report.
import { searchEpochs, validateConfig } from '../search/config.ts';
import type { SearchReport } from '../search/report.ts';
import type { EpochRecord, StepInfo } from '../search/search.ts';
import { describeLoss, type DeviceLoss } from '../train/deviceLoss.ts';
import type { EngineClient } from './engineClient.ts';
import type { DataSource, EngineEvent, FolderSummary, SearchSettings, StepPosition } from './protocol.ts';
import { clearSearch, dropDiscarded, loadFolder, loadSearch, noteDiscard, saveFolder, saveSearch, type RestoredSearch, type StoredFolder, type StoredSearch } from './storage.ts';

export type { SearchReport, SearchSettings };

export type SessionState = 'idle' | 'loading' | 'running' | 'pausing' | 'paused' | 'finished' | 'failed';

export interface SessionListener {
  state?(state: SessionState, message: string): void;
  step?(info: StepInfo): unknown;
  /** After each epoch, once its state is in IndexedDB. */
  epoch?(record: EpochRecord, checkpoint: Uint8Array): unknown;
  finished?(report: SearchReport): unknown;
}

/** A search's data as the page has it: what goes to the engine, and for a folder what the page shows of it. */
export interface DataChoice {
  source: DataSource;
  summary: FolderSummary | null;
}

export const EMBEDDED: DataChoice = { source: { kind: 'embedded' }, summary: null };

export class SearchSession {
  state: SessionState = 'idle';
  message = '';
  settings: SearchSettings | null = null;
  records: readonly EpochRecord[] = [];
  checkpoint: Uint8Array | null = null;
  report: SearchReport | null = null;
  /** Where the search stopped inside an epoch; null between epochs. */
  at: StepPosition | null = null;
  /** Epochs whose state IndexedDB holds. */
  savedEpochs = 0;
  /** The GPU devices lost (and replaced in the engine) while this page searched. */
  readonly deviceLosses: DeviceLoss[] = [];
  /** The search's data; a folder's kept images once the engine has decoded them. */
  data: DataChoice = EMBEDDED;
  folder: StoredFolder | null = null;
  /** The engine job this session follows; events of any other are stale. */
  private job = 0;
  /** The job the engine holds paused, which continues without a checkpoint. */
  private held = 0;
  /** The preset named for a checkpoint made elsewhere, whose config the engine reports. */
  private preset = '';
  private jobs = 0;
  private settled: (() => void) | null = null;
  /** IndexedDB writes in the order they were asked for. */
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<SessionListener>();

  constructor(private readonly engine: EngineClient) {
    engine.listen((event) => this.onEngine(event));
  }

  listen(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get epochs(): number {
    return this.settings ? searchEpochs(this.settings.config) : 0;
  }

  get busy(): boolean {
    return this.state === 'loading' || this.state === 'running' || this.state === 'pausing';
  }

  /**
   * Takes up what IndexedDB holds after a reload: a paused search, or a finished one, and the folder
   * it runs on (kept from its start, so it may be there without a search). A store that cannot be
   * read (both saves damaged) leaves the session failed, saying why; a new search clears it.
   */
  async restore(): Promise<RestoredSearch | null> {
    let stored: RestoredSearch | null;
    try {
      await dropDiscarded();
      [stored, this.folder] = await Promise.all([loadSearch(), loadFolder()]);
    } catch (e) {
      this.setState('failed', `could not read the stored search: ${(e as Error).message}`);
      return null;
    }
    if (this.folder) this.data = { source: { kind: 'folder', folder: this.folder.folder, settings: this.folder.settings }, summary: this.folder.summary };
    if (!stored) return null;
    this.settings = stored.settings;
    this.records = stored.records;
    this.checkpoint = stored.checkpoint;
    this.report = stored.report;
    this.at = stored.at ?? null;
    this.savedEpochs = stored.records.length;
    this.setState(stored.report ? 'finished' : 'paused', `${this.progress()} (${stored.fallback ? `restored; ${stored.fallback}` : 'restored'})`);
    return stored;
  }

  /** A new search; whatever was stored before is discarded. Resolves when it finishes, pauses or fails. */
  start(settings: SearchSettings, data = EMBEDDED): Promise<void> {
    if (this.busy) throw new Error(`a search is ${this.state}: pause it first`);
    validateConfig(settings.config);
    this.forget();
    this.settings = settings;
    this.data = data;
    const running = this.run((job) => this.engine.send({ type: 'search', job, settings, data: data.source }));
    this.clearStored();
    return running;
  }

  /** Continues a paused search: the one the engine holds, or the stored checkpoint after a reload. */
  resume(): Promise<void> {
    if (this.state !== 'paused') throw new Error(`nothing to resume (the search is ${this.state})`);
    const data = this.data.source;
    if (this.held === this.job && this.job) return this.run((job) => this.engine.send({ type: 'resume', job, checkpoint: null, source: '', data }), this.job);
    // A copy goes to the engine: this one stays here for the download button.
    const checkpoint = this.checkpoint!.slice();
    return this.run((job) => this.engine.send({ type: 'resume', job, checkpoint, source: 'the stored search (IndexedDB)', data }));
  }

  /** Resumes from checkpoint bytes made elsewhere (a CLI run's checkpoint.bin) on its data; the engine reports its settings. */
  resumeFrom(checkpoint: Uint8Array, preset: string, data = EMBEDDED): Promise<void> {
    if (this.busy) throw new Error(`a search is ${this.state}: pause it first`);
    this.forget();
    this.preset = preset;
    this.checkpoint = checkpoint;
    this.data = data;
    const copy = checkpoint.slice();
    const running = this.run((job) => this.engine.send({ type: 'resume', job, checkpoint: copy, source: 'checkpoint.bin', data: data.source }));
    this.clearStored();
    return running;
  }

  /** Asks the engine to stop after the step in progress, keeping the search to resume. */
  pause(): void {
    if (this.state !== 'running') return;
    this.engine.send({ type: 'stop', job: this.job, then: 'pause' });
    this.setState('pausing', 'after this step');
  }

  /** Forgets the search, here, in the engine (after its step in progress) and in IndexedDB. */
  async discard(): Promise<void> {
    if (this.job) this.engine.send({ type: 'stop', job: this.job, then: 'discard' });
    this.forget();
    this.setState('idle', '');
    await this.clearStored();
  }

  /** log.jsonl: one epoch record per line, as `sgas search` writes them. */
  logJsonl(): string {
    return this.records.map((r) => JSON.stringify({ type: 'epoch', ...r }) + '\n').join('');
  }

  /** "3 of 9 epochs done", and the step reached in the next one when it stopped inside it. */
  progress(at = this.at): string {
    return `${this.records.length} of ${this.epochs} epochs done${at ? `, epoch ${at.epoch + 1} at step ${at.step} of ${at.steps}` : ''}`;
  }

  /** Sends a job's first request and resolves when the job pauses, finishes or fails. */
  private run(send: (job: number) => void, job = ++this.jobs): Promise<void> {
    this.settled?.();
    this.job = job;
    this.held = 0;
    this.at = null;
    this.setState('loading', 'loading the data and building the network');
    send(job);
    return new Promise((resolve) => (this.settled = resolve));
  }

  private forget(): void {
    this.settled?.();
    this.settled = null;
    this.job = this.held = 0;
    this.preset = '';
    this.settings = null;
    this.records = [];
    this.checkpoint = null;
    this.report = null;
    this.at = null;
    this.savedEpochs = 0;
    this.data = EMBEDDED;
    this.folder = null;
  }

  private onEngine(event: EngineEvent): void {
    if (event.type === 'crashed') {
      if (this.busy) this.settle(this.job, 'failed', event.message);
      return;
    }
    if (!('job' in event) || event.job !== this.job) return;
    switch (event.type) {
      case 'loading':
        return;
      case 'running':
        this.settings ??= { preset: this.preset, config: event.config };
        this.records = event.records;
        this.at = event.at;
        if (this.state === 'loading') this.setState('running', this.progress(null));
        return;
      case 'data':
        this.keepFolder(event);
        return;
      case 'step':
        this.at = null;
        for (const l of this.listeners) l.step?.(event.info);
        return;
      case 'epoch': {
        this.records = [...this.records, event.record];
        this.checkpoint = event.checkpoint;
        this.save(null).then((saved) => {
          if (!saved || event.job !== this.job) return;
          if (this.state === 'running') this.setState('running', this.progress(null));
          for (const l of this.listeners) l.epoch?.(event.record, event.checkpoint);
        });
        return;
      }
      case 'paused':
        this.checkpoint = event.checkpoint;
        this.at = event.at;
        this.held = event.job;
        this.save(null).then((saved) => saved && this.settle(event.job, 'paused', this.progress()));
        return;
      case 'finished':
        this.report = event.report;
        this.save(event.report).then((saved) => {
          if (!saved || !this.settle(event.job, 'finished', `${event.report.epochs} epochs in ${event.report.seconds.toFixed(0)} s`)) return;
          for (const l of this.listeners) l.finished?.(event.report);
        });
        return;
      case 'failed':
        this.settle(event.job, 'failed', event.message);
        return;
      case 'device-lost':
        this.deviceLosses.push(event.loss);
        if (this.state === 'running') this.setState('running', describeLoss(event.loss));
        return;
      case 'discarded':
        return;
    }
  }

  /** Ends the job's run in this state, unless a newer job has taken its place; whether it did. */
  private settle(job: number, state: SessionState, message: string): boolean {
    if (job !== this.job) return false;
    this.setState(state, message);
    this.settled?.();
    this.settled = null;
    return true;
  }

  /** Runs IndexedDB work after the work queued before it, whether that failed or not. */
  private queue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.saving.then(work);
    this.saving = done.then(() => {}, () => {});
    return done;
  }

  private clearStored(): Promise<void> {
    const note = noteDiscard();
    const job = this.job;
    return this.queue(() => clearSearch(note)).catch((e: Error) => void this.settle(job, 'failed', `could not clear the stored search in IndexedDB: ${e.message}`));
  }

  /** Keeps the folder a new search runs on in IndexedDB, once, as the engine decoded it. */
  private keepFolder({ job, kept, files }: Extract<EngineEvent, { type: 'data' }>): void {
    const { source, summary } = this.data;
    if (source.kind !== 'folder' || !summary) return;
    const folder: StoredFolder = { folder: { ...source.folder, files: [], kept }, settings: source.settings, summary, files, savedAt: new Date().toISOString() };
    this.folder = folder;
    this.queue(() => saveFolder(folder)).catch((e: Error) => this.settle(job, 'failed', `could not keep the folder's images in IndexedDB: ${e.message}`));
  }

  /** Queues an IndexedDB write of the search as it stands; resolves whether it was written (a failure fails the job). */
  private save(report: SearchReport | null): Promise<boolean> {
    const job = this.job;
    const stored: StoredSearch = {
      settings: this.settings!, checkpoint: this.checkpoint!, records: [...this.records], report, at: this.at, savedAt: new Date().toISOString(),
    };
    return this.queue(() => saveSearch(stored)).then(
      () => {
        if (job === this.job) this.savedEpochs = stored.records.length;
        return true;
      },
      (e: Error) => {
        this.settle(job, 'failed', `could not keep the search in IndexedDB: ${e.message}`);
        return false;
      },
    );
  }

  private setState(state: SessionState, message: string): void {
    this.state = state;
    this.message = message;
    for (const l of this.listeners) l.state?.(state, message);
  }
}
