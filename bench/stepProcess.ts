// One search setting timed in a process of its own, with a PyTorch peer of its own: bench.ts runs
// this file once per --search-processes and keeps each side's best process. On this machine a
// process is sometimes slower from its start to its end (every kernel alike, the GEMM peak 10%
// lower), on either side; the minimum of rounds inside one process cannot remove that, a fresh
// process can. The answer is one JSON line on stdout.
//   node --import tsx --import ./scripts/wgsl-hook.mjs bench/stepProcess.ts '{"setting":"fmnist","reps":3,"threads":1,"torch":true}'
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { measurePeak, type Peak } from './peak.ts';
import { peerStepCommand, SEARCH_SETTINGS, timeSearchStep, type SearchStepResult } from './searchStep.ts';
import { TorchPeer } from './torchPeer.ts';

export interface StepProcessRequest {
  setting: string;
  reps: number;
  /** Our wasm backend's threads and PyTorch's. */
  threads: number;
  torch: boolean;
}

/** One process's step timings and the 1024³ GEMM peak both sides reached in it. */
export interface StepProcessAnswer {
  result: SearchStepResult;
  peak: Peak;
}

async function timeHere(request: StepProcessRequest): Promise<StepProcessAnswer> {
  const setting = SEARCH_SETTINGS.find((s) => s.key === request.setting);
  if (!setting) throw new Error(`unknown search setting '${request.setting}'`);
  const torch = request.torch ? await TorchPeer.start(request.threads) : null;
  if (torch && !(torch instanceof TorchPeer)) throw new Error(`pytorch: ${torch.missing}`);
  try {
    const peak = await measurePeak(request.threads, torch);
    const peer = torch ? await torch.prepare(peerStepCommand(setting)) : undefined;
    const result = await timeSearchStep('wasm', setting, request.reps, { wasmThreads: request.threads, peer });
    return { result, peak };
  } finally {
    torch?.close();
  }
}

/**
 * The line of a child's stderr that says what went wrong: our one-line message, or, from a crash
 * Node printed itself (source line, stack, error fields, version), its `…Error: …` line.
 */
export function failureLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((line) => line.trim() && !/^\s+at /.test(line) && !/^Node\.js v/.test(line));
  return lines.filter((line) => /^\w*Error\b/.test(line)).at(-1) ?? lines.at(-1) ?? '';
}

/** Runs this file in a fresh Node process (the caller's loader flags) and answers what it printed. */
export function runStepProcess(request: StepProcessRequest): Promise<StepProcessAnswer> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    proc.stdout.on('data', (chunk) => (stdout += chunk));
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as StepProcessAnswer);
      else reject(new Error(`search step process for ${request.setting} exited (${code}): ${failureLine(stderr)}`));
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const answer = await timeHere(JSON.parse(process.argv[2]!) as StepProcessRequest);
    process.stdout.write(JSON.stringify(answer) + '\n');
  } catch (error) {
    // One line, the last on stderr: the caller's error message quotes it.
    process.stderr.write(`${(error as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
  // The wasm backend's workers and the peer's pipe would keep the process alive.
  process.exit(0);
}
