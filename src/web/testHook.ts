// window.sgas: what Playwright tests and `sgas search --browser` drive. Searches started here go
// through the same path as the page's buttons, so the page draws them as it would its own.
import { DEFAULT_PRESET, type SearchConfig } from '../search/config.ts';
import type { TensorResult } from '../golden/runner.ts';
import type { EpochRecord, StepInfo } from '../search/search.ts';
import { presetSettings } from './controls.ts';
import type { EngineClient } from './engineClient.ts';
import type { FolderSummary } from './protocol.ts';
import type { SearchReport, SearchSession, SearchSettings, SessionListener, SessionState } from './session.ts';

/** What a driver hears while a search runs; the checkpoint comes as base64 (it crosses to Node). */
export type SearchEvent = { type: 'step'; info: StepInfo } | { type: 'epoch'; record: EpochRecord; checkpoint: string };

export type Reporter = (event: SearchEvent) => unknown;

export interface SgasHook {
  /**
   * Resolves true once the backend (?backend=auto|webgpu|wasm) is open, false if the page shows why
   * it cannot be (the no-WebGPU message when WebGPU was asked for).
   */
  ready: Promise<boolean>;
  /** Resolves once the page has taken up what IndexedDB holds after ready: true when it held a search. */
  restored: Promise<boolean>;
  /** The header's line: "WebGPU: <adapter>" or "WebAssembly: <threads>…"; null until ready. */
  adapter(): string | null;
  /** 'webgpu' or 'wasm' once ready. */
  backend(): string | null;
  state(): SessionState;
  message(): string;
  /** Epochs finished, and epochs whose state IndexedDB holds. */
  epoch(): number;
  savedEpoch(): number;
  records(): readonly EpochRecord[];
  /** The user's folder the search runs on, as IndexedDB keeps it: its summary, the search's training files in order, and its images' bytes. */
  folder(): { summary: FolderSummary; files: string[]; keptBytes: number } | null;
  /** A new search from a preset (default: the CLI's) and overrides; resolves with genotype.json. */
  runSearch(settings?: { preset?: string } & Partial<SearchConfig>, report?: Reporter): Promise<SearchReport>;
  /** Continues the stored (reloaded) or paused search, as the Resume button does. */
  resume(report?: Reporter): Promise<SearchReport>;
  /** Continues from checkpoint bytes written elsewhere (base64 of a checkpoint.bin). */
  resumeCheckpoint(checkpoint: string, preset: string, report?: Reporter): Promise<SearchReport>;
  pause(): void;
  report(): SearchReport | null;
  logJsonl(): string;
  checkpointBase64(): string | null;
  /** Runs golden files fetched from /golden/ on the page's backend (in its engine Worker). */
  runGolden(files: string[]): Promise<TensorResult[]>;
}

declare global {
  interface Window {
    sgas: SgasHook;
  }
}

export interface PageActions {
  ready: Promise<boolean>;
  restored: Promise<boolean>;
  adapter(): string | null;
  backendName(): string | null;
  engine: EngineClient;
  start(settings: SearchSettings): Promise<void>;
  resume(): Promise<void>;
  resumeFrom(checkpoint: Uint8Array, preset: string): Promise<void>;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Runs an action that starts or continues a search and resolves when that search finishes. */
async function untilFinished(session: SearchSession, action: () => Promise<void>, report?: Reporter): Promise<SearchReport> {
  let unlisten = () => {};
  const finished = new Promise<SearchReport>((resolve, reject) => {
    const listener: SessionListener = {
      finished: resolve,
      state: (state, message) => state === 'failed' && reject(new Error(message)),
    };
    if (report) {
      listener.step = (info) => report({ type: 'step', info });
      listener.epoch = (record, checkpoint) => report({ type: 'epoch', record, checkpoint: toBase64(checkpoint) });
    }
    unlisten = session.listen(listener);
  });
  finished.catch(() => {}); // a failure while `action` still runs is reported by `await finished` below
  try {
    await action();
    return await finished;
  } finally {
    unlisten();
  }
}

export function installHook(session: SearchSession, actions: PageActions): void {
  window.sgas = {
    ready: actions.ready,
    restored: actions.restored,
    adapter: actions.adapter,
    backend: actions.backendName,
    state: () => session.state,
    message: () => session.message,
    epoch: () => session.records.length,
    savedEpoch: () => session.savedEpochs,
    records: () => session.records,
    folder: () => session.folder && { summary: session.folder.summary, files: session.folder.files, keptBytes: session.folder.folder.kept!.pixels.length },
    runSearch: ({ preset = DEFAULT_PRESET, ...overrides } = {}, report) =>
      untilFinished(session, () => actions.start(presetSettings(preset, overrides)), report),
    resume: (report) => untilFinished(session, actions.resume, report),
    resumeCheckpoint: (checkpoint, preset, report) => untilFinished(session, () => actions.resumeFrom(fromBase64(checkpoint), preset), report),
    pause: () => session.pause(),
    report: () => session.report,
    logJsonl: () => session.logJsonl(),
    checkpointBase64: () => (session.checkpoint ? toBase64(session.checkpoint) : null),
    runGolden: async (files) => (await actions.engine.ask({ type: 'golden', files })).results,
  };
}
