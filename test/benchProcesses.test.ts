// The bench's search step in fresh processes (bench/stepProcess.ts): a child process answers its
// timings, and the best of several processes keeps each side's fastest, so one slow process on
// either side does not set a ratio. And two kernel builds compared in one process (bench/compareKernels.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { bestOfProcesses, type PartTimes, type SearchStepResult } from '../bench/searchStep.ts';
import { failureLine, runStepProcess } from '../bench/stepProcess.ts';
import { TORCH_HINT, TorchPeer } from '../bench/torchPeer.ts';

const times = (forward: number[], architectStep: number[], weightStep: number[], na?: string): PartTimes => {
  const min = (xs: number[]) => (xs.length ? Math.min(...xs) : null);
  return {
    ms: { forward: min(forward), architectStep: min(architectStep), weightStep: min(weightStep) },
    stepMs: architectStep.length ? Math.min(...architectStep.map((a, i) => a + weightStep[i]!)) : null,
    samples: { forward, architectStep, weightStep },
    ...(na ? { na } : {}),
  };
};

const result = (ours: PartTimes, peer: PartTimes, peakLiveBytes: number): SearchStepResult => ({
  setting: 'fmnist', label: 'fmnist', backend: 'wasm', threads: 1, ours, peer, flops: { forward: 1, weightStep: 2, architectStep: 3 },
  memory: null, peakLiveBytes, neededBytes: 10, recomputeCells: false, dispatchesPerStep: 100, submitsPerStep: null,
});

test('the best of processes keeps each side its fastest process, part by part, and lists every process', () => {
  // Ours is slow in the first process, PyTorch in the second.
  const slowOurs = result(times([40], [100, 90], [60, 70]), times([80], [200, 190], [300, 310]), 5);
  const slowPeer = result(times([30], [70, 75], [50, 40]), times([95], [260, 250], [330, 320]), 7);
  const best = bestOfProcesses([
    { result: slowOurs, peak: { oursGflops: 39, torchGflops: 105 } },
    { result: slowPeer, peak: { oursGflops: 44, torchGflops: 96 } },
  ]);
  assert.deepEqual(best.ours.ms, { forward: 30, architectStep: 70, weightStep: 40 });
  // The step is the best process's paired round (75 + 40), not the sum of parts' minima from different rounds.
  assert.equal(best.ours.stepMs, 115);
  assert.equal(best.peer!.stepMs, 500);
  assert.deepEqual(best.peer!.ms, { forward: 80, architectStep: 190, weightStep: 300 });
  assert.equal(best.ours.samples.architectStep.length, 4);
  assert.equal(best.peakLiveBytes, 7);
  assert.deepEqual(best.processes, [
    { oursStepMs: 160, peerStepMs: 500, oursGflops: 39, torchGflops: 105 },
    { oursStepMs: 115, peerStepMs: 570, oursGflops: 44, torchGflops: 96 },
  ]);
});

test('a part that failed in one process keeps the other process\'s time; failed in all, it says why', () => {
  const failed = result(times([], [], [], 'architectStep: out of memory'), times([80], [200], [300]), 5);
  const ran = result(times([30], [70], [50]), times([90], [210], [310]), 5);
  const best = bestOfProcesses([{ result: failed, peak: { oursGflops: 40 } }, { result: ran, peak: { oursGflops: 41 } }]);
  assert.equal(best.ours.na, undefined);
  assert.equal(best.ours.stepMs, 120);
  const none = bestOfProcesses([{ result: failed, peak: { oursGflops: 40 } }, { result: failed, peak: { oursGflops: 41 } }]);
  assert.equal(none.ours.na, 'architectStep: out of memory');
  assert.equal(none.ours.stepMs, null);
});

test('a fresh process times a setting and answers its step and GEMM peak', async () => {
  const { result: r, peak } = await runStepProcess({ setting: 'fmnist', reps: 1, threads: 1, torch: false });
  assert.equal(r.setting, 'fmnist');
  assert.equal(r.na, undefined);
  assert.equal(r.threads, 1);
  assert.ok(r.ours.stepMs! > 0 && r.ours.stepMs === r.ours.samples.architectStep[0]! + r.ours.samples.weightStep[0]!, `step ${r.ours.stepMs} ms`);
  assert.ok(r.flops.weightStep > r.flops.forward, 'the weight step counts a backward on top of the forward');
  assert.ok(peak.oursGflops > 0 && peak.torchGflops === undefined, `peak ${JSON.stringify(peak)}`);
  await assert.rejects(runStepProcess({ setting: 'mnist', reps: 1, threads: 1, torch: false }), /unknown search setting 'mnist'/);
});

test('compare-kernels times two builds in one process, a line per case, and refuses a folder without kernels', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-hook.mjs', 'bench/compareKernels.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  // This tree's own kernels on both sides: the same build, so both columns are times of the same work.
  const same = run(['--against', 'dist/wasm', '--ops', 'avg_pool_3x3', '--shapes', '64x8x8', '--strides', '1,2', '--search', 'none', '--rounds', '1']);
  assert.equal(same.status, 0, same.stderr);
  const rows = same.stdout.split('\n').filter((line) => line.startsWith('avg_pool_3x3 64x8x8'));
  assert.deepEqual(rows.map((line) => line.split(/\s+/).slice(0, 4).join(' ')), [
    'avg_pool_3x3 64x8x8 s1 fwd', 'avg_pool_3x3 64x8x8 s1 f+b', 'avg_pool_3x3 64x8x8 s2 fwd', 'avg_pool_3x3 64x8x8 s2 f+b',
  ]);
  for (const line of rows) {
    const [other, self, ratio] = [...line.matchAll(/(\d+\.\d+)/g)].map((m) => Number(m[1]));
    assert.ok(other! > 0 && self! > 0 && Math.abs(ratio! - other! / self!) < 0.01, line);
  }
  const missing = run(['--against', 'no/such/folder']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--against no\/such\/folder: no kernels.wasm there/);
});

// The PyTorch peer gone (here its stdin closed, so it ends), a command fails with one line that
// says so, instead of an unhandled EPIPE taking the bench down. Needs a Python with torch
// (bash scripts/setup.sh --bench).
const torchMissing = (() => {
  const found = TorchPeer.findPython();
  return 'missing' in found ? `${found.missing}; ${TORCH_HINT}` : false;
})();

test('a command to a PyTorch peer that has exited fails with why, at once', { skip: torchMissing }, async () => {
  const peer = await TorchPeer.start(1);
  assert.ok(peer instanceof TorchPeer);
  assert.ok((await peer.gemmGflops(64)) > 0);
  peer.close();
  await assert.rejects(peer.gemmGflops(64), /^Error: pytorch: PyTorch peer exited \(0\)$/);
  await assert.rejects(peer.gemmGflops(64), /^Error: pytorch: PyTorch peer exited \(0\)$/);
});

test("a step process's failure is quoted by its error line, not by Node's version under a crash dump", () => {
  assert.equal(failureLine('pytorch: PyTorch peer exited (SIGKILL)\n'), 'pytorch: PyTorch peer exited (SIGKILL)');
  const crash = [
    'node:events:502', '      throw er; // Unhandled \'error\' event', '      ^', '',
    'Error: write EPIPE', '    at afterWriteDispatched (node:internal/stream_base_commons:161:15)',
    'Emitted \'error\' event on Socket instance at:', '    at emitErrorNT (node:internal/streams/destroy:169:8) {',
    '  errno: -32,', '  code: \'EPIPE\',', '  syscall: \'write\'', '}', '', 'Node.js v20.20.2', '',
  ].join('\n');
  assert.equal(failureLine(crash), 'Error: write EPIPE');
  assert.equal(failureLine(''), '');
});
