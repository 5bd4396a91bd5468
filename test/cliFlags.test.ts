// Every numeric flag of every command is checked against its range before any work, and says what
// it expects: `--batch-size -3` gets "expected a positive integer", not parseArgs' "ambiguous".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendFlag, DEVICE_FLAG_RANGES, describeRange, numberFlag, parseFlags, type Range } from '../src/cli/args.ts';
import { EVAL_FLAG_RANGES, evalCommand } from '../src/cli/eval.ts';
import { INFO_FLAG_RANGES, infoCommand } from '../src/cli/info.ts';
import { MLP_FLAG_RANGES, mlpCommand } from '../src/cli/mlp.ts';
import { PREDICT_FLAG_RANGES, predictCommand } from '../src/cli/predict.ts';
import { SEARCH_FLAG_RANGES, SEARCH_HELP, searchCommand } from '../src/cli/search.ts';
import { SERVE_FLAG_RANGES, serveCommand } from '../src/cli/serve.ts';
import { SWEEP_FLAG_RANGES, sweepCommand } from '../src/cli/sweep.ts';
import { WORKER_FLAG_RANGES, workerCommand } from '../src/cli/worker.ts';
import { TRAIN_FLAG_RANGES, TRAIN_HELP, trainCommand } from '../src/cli/train.ts';

const noGpu = async () => assert.fail('a bad flag must be refused before the backend is opened');

const COMMANDS: { name: string; run: (argv: string[]) => Promise<number>; base: string[]; ranges: Record<string, Range> }[] = [
  { name: 'search', run: (argv) => searchCommand(argv, noGpu), base: [], ranges: SEARCH_FLAG_RANGES },
  { name: 'train', run: (argv) => trainCommand(argv, noGpu), base: ['--genotype', 'Cri2_CIFAR_Best'], ranges: TRAIN_FLAG_RANGES },
  { name: 'info', run: (argv) => infoCommand(argv, noGpu), base: ['--genotype', 'Cri2_CIFAR_Best'], ranges: INFO_FLAG_RANGES },
  { name: 'eval', run: (argv) => evalCommand(argv, noGpu), base: ['--checkpoint', 'nowhere/checkpoint.bin'], ranges: EVAL_FLAG_RANGES },
  { name: 'predict', run: (argv) => predictCommand(argv, noGpu), base: ['--checkpoint', 'nowhere/checkpoint.bin', 'image.png'], ranges: PREDICT_FLAG_RANGES },
  { name: 'mlp', run: (argv) => mlpCommand(argv, noGpu), base: [], ranges: MLP_FLAG_RANGES },
  { name: 'serve', run: serveCommand, base: [], ranges: SERVE_FLAG_RANGES },
  { name: 'sweep', run: (argv) => sweepCommand(argv, noGpu), base: ['--seeds', '2', '--out', 'nowhere/sweep'], ranges: SWEEP_FLAG_RANGES },
  // Port 9 (discard) has no Redis: a flag checked only after connecting would fail otherwise.
  { name: 'worker', run: (argv) => workerCommand(argv, noGpu), base: ['--redis', 'redis://127.0.0.1:9'], ranges: WORKER_FLAG_RANGES },
];

/** Values just outside the range on each side it has, a fraction for an integer, and no number at all. */
function outside({ integer, min, max, above, below }: Range): string[] {
  const step = integer ? 1 : 0.5;
  return [
    '-3', ...(min !== undefined ? [String(min - step)] : []), ...(above !== undefined ? [String(above)] : []),
    ...(max !== undefined ? [String(max + step)] : []), ...(below !== undefined ? [String(below)] : []),
    ...(integer ? [String((min ?? 0) + 1.5)] : []), 'x', '', 'Infinity', '1e400',
  ];
}

/** Values on the edges of the range, which it takes. */
function edges({ integer, min, max, above, below }: Range): number[] {
  const inside = integer ? 1 : 1e-6;
  return [min, above !== undefined ? above + inside : undefined, max, below !== undefined ? below - inside : undefined].filter((v) => v !== undefined);
}

for (const { name, run, base, ranges } of COMMANDS) {
  test(`sgas ${name}: each of its ${Object.keys(ranges).length} numeric flags refuses values outside its range, naming it`, async () => {
    for (const [flag, range] of Object.entries(ranges)) {
      for (const value of outside(range)) {
        const message = `--${flag} ${value}: expected ${describeRange(range)}`;
        // A negative value as its own argument, as users type it, and in the --flag=value form.
        await assert.rejects(run([...base, `--${flag}`, value]), { name: 'UsageError', message }, `sgas ${name} --${flag} ${value}`);
        await assert.rejects(run([...base, `--${flag}=${value}`]), { name: 'UsageError', message });
      }
      for (const value of edges(range)) assert.equal(numberFlag(flag, String(value), NaN, range), value, `--${flag} ${value} is in range`);
    }
  });
}

test('the help of search and train lists no numeric flag without a range', () => {
  for (const [help, ranges] of [[SEARCH_HELP, SEARCH_FLAG_RANGES], [TRAIN_HELP, TRAIN_FLAG_RANGES]] as const) {
    const listed = [...help.matchAll(/--([a-z0-9-]+) [NB]\b/g)].map((m) => m[1]!);
    assert.ok(listed.length > 10);
    assert.deepEqual(listed.filter((flag) => !(flag in ranges) && !(flag in DEVICE_FLAG_RANGES)), []);
  }
});

test('the refusals read as a user would want them', async () => {
  await assert.rejects(searchCommand(['--batch-size', '-3'], noGpu), { message: '--batch-size -3: expected a positive integer' });
  await assert.rejects(mlpCommand(['--batch-size', '-3'], noGpu), { message: '--batch-size -3: expected a positive integer' });
  await assert.rejects(trainCommand(['--genotype', 'Cri2_CIFAR_Best', '--batch-size', '1'], noGpu), { message: '--batch-size 1: expected an integer >= 2' });
  await assert.rejects(searchCommand(['--seed', '-1'], noGpu), { message: '--seed -1: expected a non-negative integer' });
  await assert.rejects(searchCommand(['--learning-rate', '-.5'], noGpu), { message: '--learning-rate -.5: expected a positive number' });
  await assert.rejects(searchCommand(['--train-portion', '1'], noGpu), { message: '--train-portion 1: expected a number > 0 and < 1' });
  await assert.rejects(serveCommand(['--port', '70000']), { message: '--port 70000: expected an integer >= 0 and <= 65535' });
  // A value that only looks like a flag is still refused as parseArgs refuses it, and so is a missing value.
  await assert.rejects(searchCommand(['--out', '-x'], noGpu), /search: Option '--out' argument is ambiguous/);
  await assert.rejects(searchCommand(['--batch-size'], noGpu), /search: Option '--batch-size <value>' argument missing/);
});

test('--threads: a positive count, refused beside WebGPU', () => {
  assert.deepEqual(backendFlag(['--threads', '3', '--seed', '1']), { choice: 'auto', threads: 3, argv: ['--seed', '1'] });
  assert.equal(backendFlag(['--backend=wasm', '--threads=1']).threads, 1);
  for (const [argv, message] of [
    [['--threads', '0'], /^--threads 0: expected/],
    [['--threads', '--seed'], /^--threads: expected the number of WebAssembly threads/],
    [['--threads', '2', '--backend', 'webgpu'], /^--threads 2 sets the WebAssembly backend's threads, and --backend webgpu asks for WebGPU/],
    [['--adapter', 'llvmpipe', '--threads', '2'], /and --adapter llvmpipe asks for WebGPU/],
  ] as const) {
    assert.throws(() => backendFlag([...argv]), { name: 'UsageError', message });
  }
});

test('sgas sweep --redis refuses device flags, which only its workers can apply', async () => {
  const base = ['--redis', 'redis://127.0.0.1:9', '--seeds', '2', '--out', 'nowhere/sweep'];
  for (const [device, flag] of [[{ choice: 'wasm' }, '--backend wasm'], [{ adapter: '1' }, '--adapter 1'], [{ kernels: 'tiled' }, '--kernels tiled'], [{ threads: 1 }, '--threads 1']] as const) {
    await assert.rejects(sweepCommand(base, noGpu, device), { name: 'UsageError', message: new RegExp(`^${flag} chooses this machine's device.*pass it to sgas worker`) });
  }
});

test('sweep, worker and serve fail in one line, within seconds, where no Redis answers', async () => {
  // Port 9 (discard): nothing listens there.
  const url = 'redis://127.0.0.1:9';
  const message = /^cannot reach Redis at redis:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): start it .* or check --redis$/;
  await assert.rejects(sweepCommand(['--redis', url, '--seeds', '2', '--out', 'nowhere/sweep'], noGpu), { message });
  await assert.rejects(sweepCommand(['--redis', url, '--status'], noGpu), { message });
  await assert.rejects(workerCommand(['--redis', url], noGpu), { message });
  await assert.rejects(serveCommand(['--redis', url]), { message });
});

test('a flags option takes one flag as its value, as it takes several; other options still refuse a flag for a value', () => {
  const options = { 'search-flags': { type: 'string' }, out: { type: 'string' }, jobs: { type: 'string' } } as const;
  const parse = (...argv: string[]) => parseFlags('quality', argv, options).values;
  assert.equal(parse('--search-flags', '--keep-pruned-edges', '--jobs', '2')['search-flags'], '--keep-pruned-edges');
  assert.equal(parse('--search-flags', '--batch-size 64 --batch-increase 8')['search-flags'], '--batch-size 64 --batch-increase 8');
  assert.throws(() => parse('--out', '--jobs', '2'), /quality: Option '--out' argument is ambiguous/);
});
