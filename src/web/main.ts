// The search page: SGAS in the browser with the CLI's engine and defaults, drawn live, its state
// kept in IndexedDB after every epoch (a reload offers to resume), and the CLI's output files
// (genotype.json, log.jsonl, checkpoint.bin) to download. It runs on WebGPU or WebAssembly as
// ?backend=auto|webgpu|wasm asks (auto: WebGPU on a real GPU, else WebAssembly).
import { createWasmBackend, createWebGpuBackend, WebGpuBackend, type Backend } from '../../runtime/index.ts';
import { openDevice, type OpenedDevice } from '../../runtime/device.ts';
import { parseGenotype } from '../search/genotype.ts';
import type { StepInfo } from '../search/search.ts';
import { SearchCharts } from './charts.ts';
import { SettingsForm } from './controls.ts';
import { trainingData } from './data.ts';
import { SearchSession, type SearchReport, type SearchSettings, type SessionState } from './session.ts';
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

type BackendChoice = 'auto' | 'webgpu' | 'wasm';
const CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

/** ?backend=webgpu|wasm|auto (default auto: WebGPU on a real GPU, else WebAssembly). */
const asked = new URLSearchParams(location.search).get('backend');
const choice: BackendChoice = CHOICES.includes(asked as BackendChoice) ? (asked as BackendChoice) : 'auto';

interface PageBackend {
  backend: Backend;
  /** What the page runs on, as the header shows it. */
  label: string;
  /** Why auto did not take WebGPU; empty when it did or was not asked to. */
  note: string;
}

function webGpuLabel(opened: OpenedDevice): string {
  const info = opened.adapterInfo;
  return `WebGPU: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${opened.isSoftware ? ' (software)' : ''}`;
}

async function openWasm(note: string): Promise<PageBackend> {
  const backend = await createWasmBackend();
  const threads = backend.threads;
  const isolation = crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated, so one thread';
  return { backend, label: `WebAssembly: ${threads} thread${threads > 1 ? 's' : ''}, 128-bit SIMD (${isolation})`, note };
}

async function openBackend(): Promise<PageBackend> {
  if (choice === 'wasm') return openWasm('');
  const problem = webGpuProblem();
  if (choice === 'webgpu') {
    if (problem) throw new Error(problem);
    if (!(await navigator.gpu.requestAdapter())) throw new Error('WebGPU is there but offered no adapter: it is disabled, or blocklisted for this GPU.');
    const backend = await createWebGpuBackend({ kernels: 'auto' });
    return { backend, label: webGpuLabel(backend.opened), note: '' };
  }
  if (problem) return openWasm(`${problem} Running on WebAssembly instead.`);
  const opened = await openDevice().catch(() => null);
  if (opened && !opened.isSoftware) {
    const backend = new WebGpuBackend(opened);
    await backend.useKernels('auto');
    return { backend, label: webGpuLabel(opened), note: '' };
  }
  opened?.device.destroy();
  return openWasm(opened
    ? `WebGPU offers only a software adapter (${webGpuLabel(opened).slice(8)}); WebAssembly is faster on this CPU. Choose WebGPU above to use it anyway.`
    : 'WebGPU offered no adapter here. Running on WebAssembly instead.');
}

function showBackendSelect(): void {
  ui.backendSelect.value = choice;
  ui.backendSelect.addEventListener('change', () => {
    const params = new URLSearchParams(location.search);
    params.set('backend', ui.backendSelect.value);
    location.search = params.toString();
  });
}
showBackendSelect();

const opening = openBackend();
const backend: Promise<Backend> = opening.then((b) => b.backend);
const ready = opening.then(
  (b) => {
    ui.adapter.textContent = b.label;
    ui.engine.textContent = b.backend.name === 'wasm' ? 'on WebAssembly' : 'on WebGPU';
    document.body.dataset.backend = b.backend.name;
    if (b.note) {
      ui.backendNote.textContent = b.note;
      ui.backendNote.hidden = false;
    }
    return true;
  },
  (e: Error) => {
    const webgpu = choice === 'webgpu';
    if (!webgpu) ui.noWebGpuTitle.textContent = 'The WebAssembly backend did not start';
    ui.noWebGpuReason.textContent = e.message;
    ui.noWebGpu.hidden = false;
    ui.adapter.textContent = webgpu ? 'WebGPU: not available' : 'WebAssembly: not available';
    document.body.dataset.state = 'no-webgpu';
    return false;
  },
);
let backendReady = false;

const session = new SearchSession(() => backend, trainingData);
const form = new SettingsForm(byId<HTMLFormElement>('settings'));
const charts = new SearchCharts(byId('figures'), byId<HTMLOListElement>('decisions'));

function render(state: SessionState, message: string): void {
  if (!backendReady) return;
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
  adapter: () => (backendReady ? ui.adapter.textContent : null),
  backendName: () => (backendReady ? document.body.dataset.backend ?? null : null),
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
installGpuHook(session);

void ready.then(async (ok) => {
  backendReady = ok;
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
