// The search page: SGAS in the browser with the CLI's engine and defaults, drawn live, its state
// kept in IndexedDB after every epoch (a reload offers to resume), and the CLI's output files
// (genotype.json, log.jsonl, checkpoint.bin) to download.
import { createWebGpuBackend, type WebGpuBackend } from '../../runtime/index.ts';
import { parseGenotype } from '../search/genotype.ts';
import type { StepInfo } from '../search/search.ts';
import { SearchCharts } from './charts.ts';
import { SettingsForm } from './controls.ts';
import { trainingData } from './data.ts';
import { SearchSession, type SearchReport, type SearchSettings, type SessionState } from './session.ts';
import { installHook } from './testHook.ts';

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  adapter: byId('adapter'),
  noWebGpu: byId('no-webgpu'),
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
  downloadGenotype: byId<HTMLButtonElement>('download-genotype'),
  downloadLog: byId<HTMLButtonElement>('download-log'),
  downloadCheckpoint: byId<HTMLButtonElement>('download-checkpoint'),
};

/** Why this page cannot have WebGPU, before asking for an adapter; null if it may. */
function webGpuProblem(): string | null {
  if (!isSecureContext) return `This page is not a secure context (${location.origin}), and browsers only offer WebGPU in one.`;
  if (!navigator.gpu) return 'This browser does not offer WebGPU (navigator.gpu is missing).';
  return null;
}

async function openBackend(): Promise<WebGpuBackend> {
  const problem = webGpuProblem();
  if (problem) throw new Error(problem);
  if (!(await navigator.gpu.requestAdapter())) throw new Error('WebGPU is there but offered no adapter: it is disabled, or blocklisted for this GPU.');
  return createWebGpuBackend();
}

const backend = openBackend();
const ready = backend.then(
  (b) => {
    const info = b.opened.adapterInfo;
    ui.adapter.textContent = `WebGPU: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${b.opened.isSoftware ? ' (software)' : ''}`;
    return true;
  },
  (e: Error) => {
    ui.noWebGpuReason.textContent = e.message;
    ui.noWebGpu.hidden = false;
    ui.adapter.textContent = 'WebGPU: not available';
    document.body.dataset.state = 'no-webgpu';
    return false;
  },
);
let gpuReady = false;

const session = new SearchSession(() => backend, trainingData);
const form = new SettingsForm(byId<HTMLFormElement>('settings'));
const charts = new SearchCharts(byId('figures'), byId<HTMLOListElement>('decisions'));

function render(state: SessionState, message: string): void {
  if (!gpuReady) return;
  document.body.dataset.state = state;
  const busy = session.busy;
  ui.start.disabled = busy;
  ui.pause.hidden = !busy;
  ui.pause.disabled = state !== 'running';
  ui.pause.textContent = state === 'pausing' ? 'Pausing after this epoch…' : 'Pause';
  ui.resume.hidden = state !== 'paused';
  ui.discard.hidden = busy || !session.settings;
  form.disabled = busy;
  ui.status.textContent = `${state}${message ? ` — ${message}` : ''}`;
  ui.status.className = state === 'failed' ? 'error' : '';
  if (state !== 'paused') ui.banner.hidden = true;
  ui.downloadGenotype.disabled = !session.report;
  ui.downloadLog.disabled = !session.records.length;
  ui.downloadCheckpoint.disabled = !session.checkpoint;
  ui.genotype.textContent = session.report?.python ?? '';
  const epochs = session.epochs;
  if (epochs) ui.progress.value = session.records.length / epochs;
  if (state === 'idle') ui.progress.value = 0;
}

function showStep(info: StepInfo): void {
  ui.progress.value = (info.epoch + info.step / info.steps) / info.epochs;
  ui.step.textContent = `epoch ${info.epoch + 1}/${info.epochs} · step ${info.step}/${info.steps} · loss ${info.loss.toFixed(4)} · ` +
    `acc ${(100 * info.accuracy).toFixed(1)}% · lr ${info.lr.toFixed(5)} · batch ${info.batchSize}`;
  charts.step(info);
}

const finalGenotype = (report: SearchReport) => parseGenotype(JSON.stringify(report.genotype));

session.listen({
  state: render,
  step: showStep,
  epoch: () => {
    charts.show(session.records);
    render(session.state, session.message);
  },
  finished: (report) => charts.show(session.records, finalGenotype(report)),
});

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const actions = {
  ready,
  adapter: () => (gpuReady ? ui.adapter.textContent : null),
  backend: () => backend,
  async start(settings: SearchSettings) {
    form.show(settings);
    charts.show([]);
    ui.step.textContent = '';
    await session.start(settings);
  },
  resume: () => session.resume(),
  async resumeFrom(checkpoint: Uint8Array, preset: string) {
    await session.resumeFrom(checkpoint, preset);
  },
};

ui.start.addEventListener('click', () => {
  let settings: SearchSettings;
  try {
    settings = form.read();
  } catch (e) {
    ui.status.textContent = (e as Error).message;
    ui.status.className = 'error';
    return;
  }
  void actions.start(settings);
});
ui.pause.addEventListener('click', () => session.pause());
for (const button of [ui.resume, byId('resume-stored')]) button.addEventListener('click', () => void session.resume());
for (const button of [ui.discard, byId('discard-stored')]) {
  button.addEventListener('click', async () => {
    await session.discard();
    charts.show([]);
    ui.step.textContent = '';
  });
}
ui.downloadGenotype.addEventListener('click', () => download('genotype.json', JSON.stringify(session.report, null, 2) + '\n', 'application/json'));
ui.downloadLog.addEventListener('click', () => download('log.jsonl', session.logJsonl(), 'application/x-ndjson'));
ui.downloadCheckpoint.addEventListener('click', () => download('checkpoint.bin', session.checkpoint! as BlobPart, 'application/octet-stream'));

installHook(session, actions);

void ready.then(async (ok) => {
  gpuReady = ok;
  if (!ok) {
    for (const b of [ui.start, ui.pause, ui.resume, ui.discard]) b.disabled = true;
    form.disabled = true;
    return;
  }
  const stored = await session.restore().catch((e: Error) => {
    ui.status.textContent = `could not read the stored search: ${e.message}`;
    return null;
  });
  if (stored) {
    form.show(stored.settings);
    charts.show(stored.records, stored.report ? finalGenotype(stored.report) : undefined);
    if (!stored.report) {
      const c = stored.settings.config;
      ui.bannerText.textContent = `A search (preset ${stored.settings.preset}, seed ${c.seed}) stopped after epoch ${stored.records.length} of ` +
        `${session.epochs}, saved ${new Date(stored.savedAt).toLocaleString()}. Resume it where it stopped?`;
      ui.banner.hidden = false;
    }
  }
  render(session.state, session.message);
});
