// Complete output through pipes: `sgas golden`, `search --preset tiny` and `info`, 30 runs each,
// piped through a reader that starts late (so the pipe fills and Node queues the rest), end with
// every closing line and keep their exit codes. Before the fix, golden lost its closing line in
// most runs with a reader 300 ms late.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Rng } from '../runtime/rng.ts';
import { buildCli, cli, finished, inParallel, root } from './helpers/cli.ts';

const RUNS = 30;
/** One run per core: more only makes the WebAssembly threads of the runs wait on each other. */
const CONCURRENCY = availableParallelism();
const dir = mkdtempSync(join(tmpdir(), 'sgas-pipes-'));

before(buildCli);
after(() => rmSync(dir, { recursive: true, force: true }));

/** A reader like `cat` that waits READER_DELAY_MS before it reads anything. */
const READER = 'setTimeout(() => process.stdin.pipe(process.stdout), Number(process.env.READER_DELAY_MS))';

/** `sgas ARGS 2>&1 | reader` in bash with pipefail: the output the reader passed on, and sgas's exit code. */
async function piped(args: string[], delayMs: number): Promise<{ code: number | null; text: string }> {
  const quoted = [process.execPath, cli, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('bash', ['-c', `set -o pipefail; ${quoted} --backend wasm 2>&1 | "$NODE" -e "$READER"`], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE: process.execPath, READER, READER_DELAY_MS: String(delayMs) },
  });
  const { code, stdout } = await finished(child);
  return { code, text: stdout };
}

/** Seeded reader delays from 0 to 400 ms, one per run. */
function delays(seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: RUNS }, () => Math.floor(rng.uniform(0, 400)));
}

test(`sgas golden: ${RUNS} runs through a late reader, every case line and the closing line`, async () => {
  const runs = await inParallel(delays(1), CONCURRENCY, (delay) => piped(['golden', 'test/golden'], delay));
  for (const [i, { code, text }] of runs.entries()) {
    const closing = /^golden: (\d+) passed, (\d+) failed$/m.exec(text);
    assert.ok(closing, `run ${i}: no closing line; the output ends with ${JSON.stringify(text.slice(-200))}`);
    const results = text.split('\n').filter((line) => /  (PASS|FAIL)$/.test(line));
    assert.equal(results.length, Number(closing[1]) + Number(closing[2]), `run ${i}: ${results.length} case lines for ${closing[0]}`);
    assert.equal(closing[2], '0');
    assert.equal(code, 0, `run ${i}: exit code`);
    assert.equal(text, runs[0]!.text, `run ${i} printed something else than run 0`);
  }
});

test(`sgas info: ${RUNS} runs through a late reader, all four lines`, async () => {
  const runs = await inParallel(delays(2), CONCURRENCY, (delay) => piped(['info', '--genotype', 'Cri2_CIFAR_Best'], delay));
  for (const [i, { code, text }] of runs.entries()) {
    assert.match(text, /^genotype: Genotype\(.*\nnetwork: C=36, 20 cells.*\nparams: \d+\nauxiliary params: \d+\n$/, `run ${i}`);
    assert.equal(text, runs[0]!.text);
    assert.equal(code, 0);
  }
});

test(`sgas search --preset tiny: ${RUNS} runs through a late reader, the genotype and the closing line`, async () => {
  const runs = await inParallel(delays(3), CONCURRENCY, async (delay, i) => {
    const out = join(dir, `search-${i}`);
    return { out, ...(await piped(['search', '--preset', 'tiny', '--seed', '7', '--out', out], delay)) };
  });
  const { python: genotype, trainParameters: { count } } = JSON.parse(readFileSync(join(runs[0]!.out, 'genotype.json'), 'utf8'));
  for (const [i, { out, code, text }] of runs.entries()) {
    assert.ok(text.includes(`epoch 9/9  train loss`), `run ${i}: no last epoch line`);
    const closing = `genotype written to ${join(out, 'genotype.json')}; the cell trains with ${count.toLocaleString('en-US')} weights at the cpu training preset (C=8, 8 cells, auxiliary head apart)`;
    assert.ok(text.endsWith(`${genotype}\n${closing}\n`), `run ${i} ends with ${JSON.stringify(text.slice(-300))}`);
    assert.equal(code, 0);
  }
});

test('exit codes survive the pipe: 1 for a failing golden case, 2 for a bad flag or a missing folder', async () => {
  const golden = JSON.parse(readFileSync(join(root, 'test/golden/blocks.json'), 'utf8'));
  golden.cases[0].outputs.y.data[0] += 1;
  writeFileSync(join(dir, 'blocks.json'), JSON.stringify(golden));
  const failing = await piped(['golden', dir], 300);
  assert.equal(failing.code, 1);
  assert.match(failing.text, /relu_conv_bn_1x1 +outputs\.y .* FAIL\n/);
  assert.match(failing.text, /\ngolden: \d+ passed, 1 failed\n$/);
  const usage = await piped(['info', '--genotype', 'Cri2_CIFAR_Best', '--layers', '-3'], 300);
  assert.deepEqual(usage, { code: 2, text: 'sgas: --layers -3: expected an integer >= 3\n' });
  const missing = await piped(['golden', join(dir, 'nowhere')], 300);
  assert.equal(missing.code, 2);
  assert.match(missing.text, /sgas: .*nowhere: cannot read this golden directory or file \(does it exist\?\)\n$/);
});
