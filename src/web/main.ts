// The search page: SGAS in the browser with the CLI's engine and defaults, drawn live, its state
// kept in IndexedDB after every epoch and pause (a reload offers to resume), and the CLI's output
// files (genotype.json, log.jsonl, checkpoint.bin) to download. The engine runs in a Worker
// (engine.ts) on WebGPU or WebAssembly as ?backend=auto|webgpu|wasm asks; this thread only draws,
// takes input and keeps IndexedDB, so it answers at once however long a step takes.
import { cellWeightsText } from '../eval/cellWeightsText.ts';
import { parseGenotype } from '../search/genotype.ts';
import type { StepInfo } from '../search/search.ts';
import { SearchCharts } from './charts.ts';
import { SettingsForm } from './controls.ts';
import { DataPanel } from './dataPanel.ts';
import { EngineClient } from './engineClient.ts';
import { Frames } from './frames.ts';
import { BACKEND_CHOICES, type BackendChoice, type EngineEvent } from './protocol.ts';
import { SearchSession, type SearchReport, type SearchSettings, type SessionState } from './session.ts';
import { SweepJoin } from './sweepJoin.ts';
import { installHook } from './testHook.ts';
import { installGpuHook } from './gpuHook.ts';

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  adapter: byId('adapter'),
  engine: byId('engine'),
  backendSelect: byId<HTMLSelectElement>('backend-select'),
  backendNote: byId('backend-note'),
  noWebGpu: byId('no-webgpu'),
  noWebGpuTitle: byId('no-webgpu-title'),
  noWebGpuReason: byId('no-webgpu-reason'),
  banner: byId('resume-banner'),
  bannerText: byId('resume-text'),
  start: byId<HTMLButtonElement>('start'),
  pause: byId<HTMLButtonElement>('pause'),
  resume: byId<HTMLButtonElement>('resume'),
  discard: byId<HTMLButtonElement>('discard'),
  status: byId('status-text'),
  progress: byId<HTMLProgressElement>('progress'),
  step: byId('step-text'),
  genotype: byId('genotype'),
  cellWeights: byId('cell-weights'),
  downloadGenotype: byId<HTMLButtonElement>('download-genotype'),
  downloadLog: byId<HTMLButtonElement>('download-log'),
  downloadCheckpoint: byId<HTMLButtonElement>('download-checkpoint'),
  sweep: byId('sweep'),
  joinSweep: byId<HTMLButtonElement>('join-sweep'),
  leaveSweep: byId<HTMLButtonElement>('leave-sweep'),
  sweepText: byId('sweep-text'),
};

// The resume banner, not the scroll position of the last visit, is what a reload shows first.
history.scrollRestoration = 'manual';

/** ?backend=webgpu|wasm|auto (default auto: WebGPU on a real GPU, else WebAssembly). */
const asked = new URLSearchParams(location.search).get('backend');
const choice: BackendChoice = BACKEND_CHOICES.includes(asked as BackendChoice) ? (asked as BackendChoice) : 'auto';

ui.backendSelect.value = choice;
ui.backendSelect.addEventListener('change', () => {
  const params = new URLSearchParams(location.search);
  params.set('backend', ui.backendSelect.value);
  location.search = params.toString();
});

const engine = new EngineClient();
const opened = new Promise<Extract<EngineEvent, { type: 'opened' | 'open-failed' | 'crashed' }>>((resolve) => {
  const stop = engine.listen((event) => {
    if (event.type !== 'opened' && event.type !== 'open-failed' && event.type !== 'crashed') return;
    stop();
    resolve(event);
  });
});
engine.send({ type: 'open', backend: choice });

const ready = opened.then((event) => {
  if (event.type === 'opened') {
    ui.adapter.textContent = event.label;
    ui.engine.textContent = event.backend === 'wasm' ? 'on WebAssembly' : 'on WebGPU';
    document.body.dataset.backend = event.backend;
    if (event.note) {
      ui.backendNote.textContent = event.note;
      ui.backendNote.hidden = false;
    }
    return true;
  }
  const webgpu = choice === 'webgpu';
  if (!webgpu) ui.noWebGpuTitle.textContent = 'The WebAssembly backend did not start';
  ui.noWebGpuReason.textContent = event.message;
  ui.noWebGpu.hidden = false;
  ui.adapter.textContent = webgpu ? 'WebGPU: not available' : 'WebAssembly: not available';
  document.body.dataset.state = 'no-webgpu';
  return false;
});
let backendReady = false;

const session = new SearchSession(engine);
const form = new SettingsForm(byId<HTMLFormElement>('settings'));
const frames = new Frames();
const charts = new SearchCharts(byId('figures'), byId<HTMLOListElement>('decisions'), frames);
const data = new DataPanel(engine);
data.onChange = () => {
  const folder = data.current.summary;
  form.showFolder(folder && { side: folder.imageSize[0], images: folder.counts.train.reduce((a, b) => a + b, 0) - folder.skipped.length });
  render(session.state, session.message);
};

// `sgas serve --redis` lends a sweep's jobs to the page; ?token=T when it asks for one.
const sweep = new SweepJoin(engine, new URLSearchParams(location.search).get('token'), (text) => {
  ui.sweepText.textContent = text;
  renderSweep();
});

/** The engine runs one job at a time: the page's own search, or a sweep's while joined. */
function renderSweep(): void {
  ui.joinSweep.hidden = sweep.active;
  ui.leaveSweep.hidden = !sweep.active;
  ui.joinSweep.disabled = session.busy;
  ui.start.disabled = session.busy || sweep.active || data.busy;
}

function render(state: SessionState, message: string): void {
  if (!backendReady) return;
  document.body.dataset.state = state;
  const busy = session.busy;
  renderSweep();
  ui.pause.hidden = !busy;
  ui.pause.disabled = state !== 'running';
  ui.pause.textContent = state === 'pausing' ? 'Pausing after this step…' : 'Pause';
  ui.resume.hidden = state !== 'paused';
  ui.discard.hidden = !session.settings;
  form.disabled = busy;
  data.disabled = busy;
  ui.status.textContent = `${state}${message ? ` — ${message}` : ''}`;
  ui.status.classList.toggle('error', state === 'failed');
  if (state !== 'paused') ui.banner.hidden = true;
  ui.downloadGenotype.disabled = !session.report;
  ui.downloadLog.disabled = !session.records.length;
  ui.downloadCheckpoint.disabled = !session.checkpoint;
  ui.genotype.textContent = session.report?.python ?? '';
  // A report stored by a page from before the count has none.
  ui.cellWeights.textContent = session.report?.trainParameters ? `The found cell ${cellWeightsText(session.report.trainParameters)}.` : '';
  const epochs = session.epochs;
  if (epochs) ui.progress.value = session.records.length / epochs;
  if (state === 'idle') ui.progress.value = 0;
  keepFocus();
}

let lastFocused: HTMLElement | null = null;
document.addEventListener('focusin', (e) => (lastFocused = e.target as HTMLElement));

/** A control that hid or disabled itself when pressed (Start, Resume, Discard) hands the focus on to the one that acts next. */
function keepFocus(): void {
  const lost = lastFocused && ((lastFocused as HTMLButtonElement).disabled || lastFocused.offsetParent === null);
  if (!lost || (document.activeElement && document.activeElement !== document.body && document.activeElement !== lastFocused)) return;
  [ui.pause, ui.resume, ui.start].find((b) => !b.hidden && !b.disabled)?.focus();
}

function showStep(info: StepInfo): void {
  ui.progress.value = (info.epoch + info.step / info.steps) / info.epochs;
  ui.step.textContent = `epoch ${info.epoch + 1}/${info.epochs} · step ${info.step}/${info.steps} · loss ${info.loss.toFixed(4)} · ` +
    `acc ${(100 * info.accuracy).toFixed(1)}% · lr ${info.lr.toFixed(5)} · batch ${info.batchSize}`;
}

const finalGenotype = (report: SearchReport) => parseGenotype(JSON.stringify(report.genotype));

session.listen({
  state: render,
  step: (info) => {
    charts.step(info);
    frames.paint('step', () => showStep(info));
  },
  epoch: () => charts.show(session.records, session.epochs),
  finished: (report) => charts.show(session.records, session.epochs, finalGenotype(report)),
});

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function clearProgress(epochs = 0): void {
  charts.show([], epochs);
  ui.step.textContent = '';
}

const actions = {
  ready,
  restored: ready.then(takeUpStored),
  adapter: () => (backendReady ? ui.adapter.textContent : null),
  backendName: () => (backendReady ? document.body.dataset.backend ?? null : null),
  engine,
  start(settings: SearchSettings) {
    form.show(settings);
    const run = session.start(settings, data.current);
    clearProgress(session.epochs);
    return run;
  },
  resume: () => session.resume(),
  resumeFrom: (checkpoint: Uint8Array, preset: string) => session.resumeFrom(checkpoint, preset, data.current),
};

ui.start.addEventListener('click', () => {
  const settings = form.readOrShow();
  if (settings && data.readyOrShow()) void actions.start(settings);
});
ui.pause.addEventListener('click', () => session.pause());
for (const button of [ui.resume, byId('resume-stored')]) button.addEventListener('click', () => void session.resume());
for (const button of [ui.discard, byId('discard-stored')]) {
  button.addEventListener('click', async () => {
    await session.discard();
    clearProgress();
  });
}
ui.downloadGenotype.addEventListener('click', () => download('genotype.json', JSON.stringify(session.report, null, 2) + '\n', 'application/json'));
ui.downloadLog.addEventListener('click', () => download('log.jsonl', session.logJsonl(), 'application/x-ndjson'));
ui.downloadCheckpoint.addEventListener('click', () => download('checkpoint.bin', session.checkpoint! as BlobPart, 'application/octet-stream'));
ui.joinSweep.addEventListener('click', () => {
  void sweep.join().finally(renderSweep);
  renderSweep();
  ui.leaveSweep.focus();
});
ui.leaveSweep.addEventListener('click', () => {
  sweep.leave();
  renderSweep();
  ui.joinSweep.focus();
});

installHook(session, actions);
installGpuHook(engine, session);

/** Opens the page on its backend and takes up what IndexedDB holds; whether a search was stored. */
async function takeUpStored(ok: boolean): Promise<boolean> {
  backendReady = ok;
  if (!ok) {
    for (const b of [ui.start, ui.pause, ui.resume, ui.discard]) b.disabled = true;
    form.disabled = true;
    return false;
  }
  ui.sweep.hidden = !(await sweep.lending());
  const stored = await session.restore();
  if (session.folder) data.showStored(session.folder);
  if (stored) {
    form.show(stored.settings);
    charts.show(stored.records, session.epochs, stored.report ? finalGenotype(stored.report) : undefined);
    if (!stored.report) {
      const c = stored.settings.config;
      ui.bannerText.textContent = `A search (preset ${stored.settings.preset}, seed ${c.seed}) stopped after epoch ${stored.records.length} of ` +
        `${session.epochs}${session.at ? ` and step ${session.at.step} of ${session.at.steps} of the next` : ''}, saved ${new Date(stored.savedAt).toLocaleString()}. ` +
        'Resume it where it stopped?';
      ui.banner.hidden = false;
      ui.banner.focus();
    }
  }
  render(session.state, session.message);
  return stored !== null;
}
