// `sgas search --browser`: the same search in headless Chromium (its WebGPU; SwiftShader without
// a GPU), driven through playwright-core against a local `sgas serve` on an ephemeral port. The
// page reports every step and epoch back, and this writes the output folder a Node run writes:
// run.json, log.jsonl, checkpoint.bin after every epoch, the SVG figures and genotype.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { EMBEDDED_SOURCE } from '../data/load.ts';
import { searchResultLine, writeSearchResult } from '../jobs/search.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import type { SearchConfig } from '../search/config.ts';
import { parseGenotype } from '../search/genotype.ts';
import type { EpochRecord } from '../search/search.ts';
import type { Reporter, SearchEvent } from '../web/testHook.ts';
import { UsageError } from './args.ts';
import { writeCheckpoint } from './checkpointFiles.ts';
import { JsonLines, writeFileAtomic } from './files.ts';
import { Progress } from './progress.ts';
import type { RunLock } from './runLock.ts';
import { epochLine } from './search.ts';
import { writeSearchPlots } from './searchPlots.ts';
import { startServer } from './serve.ts';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

export function chromiumPath(): string {
  return process.env.SGAS_CHROMIUM || '/usr/bin/chromium';
}

export interface ChromiumOptions {
  /** false: without WebGPU. */
  webgpu?: boolean;
  /** More switches, e.g. --use-webgpu-adapter=opengles (Chromium's OpenGL ES adapter, in compatibility mode). */
  args?: string[];
  /** An installed Google Chrome (Playwright's channel, e.g. 'chrome') instead of the system's Chromium. */
  channel?: string;
}

/** Headless Chromium from the system (never a downloaded one), or an installed Chrome channel; without WebGPU when asked. */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  const executablePath = options.channel ? undefined : chromiumPath();
  if (executablePath && !existsSync(executablePath)) {
    throw new UsageError(`no Chromium at ${executablePath}: install Debian's chromium (scripts/setup.sh does) or set SGAS_CHROMIUM to a Chromium or Chrome binary`);
  }
  const { chromium } = await import('playwright-core');
  const args = [...(options.webgpu === false ? CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu') : CHROMIUM_ARGS), ...(options.args ?? [])];
  return chromium.launch({ executablePath, channel: options.channel, args });
}

export interface BrowserSearch {
  out: string;
  /** The preset the settings start from (the page's form shows it). */
  preset: string;
  /** A new search with these settings, or one continued from a checkpoint.bin. */
  config?: SearchConfig;
  resume?: Uint8Array;
  /** A --data directory: refused, --browser drives the page on the embedded data only. */
  data?: string;
  /** The run folder's lock, held by the caller. */
  lock: RunLock;
}

export async function browserSearch(run: BrowserSearch): Promise<number> {
  if (run.data !== undefined) {
    throw new UsageError(`--browser searches the embedded Fashion-MNIST: drop --data ${run.data}, or search it without --browser (or in the page of sgas serve, with "Use your own images")`);
  }
  const records = run.resume ? decodeCheckpoint<{ records: EpochRecord[] }>(run.resume, join(run.out, 'checkpoint.bin')).state.records : [];
  let log: JsonLines | null = null;
  let progress = null as Progress | null;
  const report = (event: SearchEvent) => {
    if (event.type === 'step') {
      run.lock.confirm();
      const s = event.info;
      progress ??= new Progress();
      progress.update({ epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, loss: s.loss, acc: s.accuracy, lr: s.lr, batch: s.batchSize });
      return;
    }
    records.push(event.record);
    // Every epoch has a step first, so the progress bar is there to print above.
    progress!.log(epochLine(event.record));
    log!.write({ type: 'epoch', ...event.record });
    writeSearchPlots(run.out, records);
    run.lock.confirm();
    writeCheckpoint(run.out, Buffer.from(event.checkpoint, 'base64'));
  };

  const server = await startServer({ host: '127.0.0.1', port: 0 });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('pageerror', (e) => process.stderr.write(`page: ${e.message}\n`));
    page.on('console', (m) => {
      if (m.type() === 'error') process.stderr.write(`page: ${m.text()}\n`);
    });
    await page.exposeFunction('sgasReport', report);
    // The page would pick WebAssembly on a software adapter; `--browser` runs WebGPU in the page.
    await page.goto(`${server.url}?backend=webgpu`);
    if (!(await page.evaluate(() => window.sgas.ready))) {
      throw new Error(`headless Chromium offered no WebGPU: ${await page.textContent('#no-webgpu-reason')}`);
    }
    const adapter = await page.evaluate(() => window.sgas.adapter());
    const what = run.config
      ? `${run.preset} preset, seed ${run.config.seed}, criterion ${run.config.criterion}`
      : `resuming after epoch ${records.length}`;
    process.stderr.write(`sgas search --browser: ${what}, in headless Chromium (${adapter}); writing to ${run.out}\n`);
    // Nothing is written before the page is up, so a missing browser leaves no half-made folder.
    if (run.config) {
      writeFileAtomic(join(run.out, 'run.json'), JSON.stringify({ data: EMBEDDED_SOURCE, preset: run.preset, config: run.config, browser: true }, null, 2));
    }
    log = new JsonLines(join(run.out, 'log.jsonl'));
    log.retain((r) => typeof r.epoch === 'number' && r.epoch < records.length);
    const genotypeJson = await page.evaluate(({ preset, config, resume }) => {
      const reporter = (window as unknown as { sgasReport: Reporter }).sgasReport;
      return resume ? window.sgas.resumeCheckpoint(resume, preset, reporter) : window.sgas.runSearch({ ...config, preset }, reporter);
    }, { preset: run.preset, config: run.config, resume: run.resume ? Buffer.from(run.resume).toString('base64') : null });
    progress?.done();
    writeSearchResult(run.out, genotypeJson);
    writeSearchPlots(run.out, records, parseGenotype(JSON.stringify(genotypeJson.genotype)));
    process.stdout.write(`${genotypeJson.python}\n`);
    process.stderr.write(`${searchResultLine(run.out, genotypeJson)}\n`);
    return 0;
  } finally {
    await browser?.close();
    await server.close();
  }
}
