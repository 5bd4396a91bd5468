// Two builds of our WebAssembly kernels in one process, each on its own backend, timed in
// alternation: the per-op rows and whole search steps, best of each, and the ratio. On a shared
// VM a whole process can be 10–40 % slower than the next (bench/stepProcess.ts), which hides a
// kernel change of a few percent between two runs of `npm run bench`; inside one process both
// builds see the same machine. The other build is a folder of kernels*.wasm, such as another
// checkout's dist/wasm after `node scripts/build-wasm.mjs`.
//
//   npm run compare-kernels -- --against DIR [--ops sep_conv_3x3,...|none] [--shapes 64x8x8,...] [--strides 1,2]
//                              [--search fmnist,cifar16,cifar64|none] [--threads n] [--rounds n]
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createWasmBackend, type WasmBackend } from '../runtime/index.ts';
import { numberFlag, POSITIVE_INTEGER, UsageError } from '../src/cli/args.ts';
import { opRuns, type OpRuns } from '../src/nn/opRuns.ts';
import { isOpName, PRIMITIVES, type OpName } from '../src/search/space.ts';
import { SHAPES, shapeName } from './cases.ts';
import { SEARCH_SETTINGS, searchStepParts } from './searchStep.ts';

/** Something to time on both builds: one run of it on build 0 (the other) or 1 (this tree). */
interface Pair {
  label: string;
  run: [() => Promise<void>, () => Promise<void>];
}

const HELP = 'npm run compare-kernels -- --against DIR [--ops a,b|none] [--shapes CxHxW,...] [--strides 1,2] [--search fmnist,cifar16,cifar64|none] [--threads n] [--rounds n]';

function options() {
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          against: { type: 'string' }, ops: { type: 'string' }, shapes: { type: 'string' }, strides: { type: 'string' },
          search: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' },
        },
      });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split('\n')[0]}; usage: ${HELP}`);
    }
  })();
  const list = (s: string | undefined) => (s === undefined ? undefined : s === 'none' ? [] : s.split(',').map((v) => v.trim()).filter(Boolean));
  if (!values.against) throw new UsageError(`--against DIR is required: the folder of the other build's kernels*.wasm (e.g. another checkout's dist/wasm). ${HELP}`);
  const against = resolve(values.against);
  if (!existsSync(resolve(against, 'kernels.wasm'))) throw new UsageError(`--against ${values.against}: no kernels.wasm there; build it with node scripts/build-wasm.mjs in that checkout`);
  const ops = list(values.ops) ?? [...PRIMITIVES];
  for (const op of ops) if (!isOpName(op)) throw new UsageError(`unknown op '${op}'; ops are ${PRIMITIVES.join(', ')} (or none)`);
  const shapes = (list(values.shapes) ?? SHAPES.map(shapeName)).map((name) => {
    const shape = SHAPES.find((s) => shapeName(s) === name);
    if (!shape) throw new UsageError(`unknown shape '${name}'; shapes are ${SHAPES.map(shapeName).join(', ')}`);
    return shape;
  });
  const strides = (list(values.strides) ?? ['1', '2']).map((v) => numberFlag('strides', v, 1, POSITIVE_INTEGER));
  const search = (list(values.search) ?? ['fmnist']).map((key) => {
    const setting = SEARCH_SETTINGS.find((s) => s.key === key);
    if (!setting) throw new UsageError(`unknown search setting '${key}'; settings are ${SEARCH_SETTINGS.map((s) => s.key).join(', ')} (or none)`);
    return setting;
  });
  return {
    against, ops: ops as OpName[], shapes, strides, search,
    threads: numberFlag('threads', values.threads, 1, POSITIVE_INTEGER),
    rounds: numberFlag('rounds', values.rounds, 5, POSITIVE_INTEGER),
  };
}

/**
 * Best milliseconds of each side: `rounds` rounds, each running every pair's two sides in turn,
 * three times each, the side that goes first swapped every turn. Running one side three times and
 * then the other left the same build always second: a search step's forward on identical builds
 * came out 13 % apart.
 */
async function timePairs(pairs: Pair[], rounds: number): Promise<[number, number][]> {
  const best = pairs.map((): [number, number] => [Infinity, Infinity]);
  for (const pair of pairs) for (const run of pair.run) await run(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [i, pair] of pairs.entries()) {
      for (let k = 0; k < 3; k++) {
        const first = (r + k) % 2;
        for (const side of [first, 1 - first] as (0 | 1)[]) {
          const start = performance.now();
          await pair.run[side]();
          best[i]![side] = Math.min(best[i]![side], performance.now() - start);
        }
      }
    }
  }
  return best;
}

async function main(): Promise<void> {
  const opts = options();
  const backends: [WasmBackend, WasmBackend] = [
    await createWasmBackend({ threads: opts.threads, kernelsUrl: pathToFileURL(opts.against + '/') }),
    await createWasmBackend({ threads: opts.threads }),
  ];
  console.log(`other: ${opts.against}; this: dist/wasm; ${opts.threads} thread${opts.threads > 1 ? 's' : ''}, ${backends[1].build}; best of ${opts.rounds} rounds × 3, in alternation`);
  console.log('ms, other → this (other / this: above 1, this build is faster)');
  const release: (() => void)[] = [];
  try {
    const pairs: Pair[] = [];
    for (const op of opts.ops) {
      for (const shape of opts.shapes) {
        for (const stride of opts.strides) {
          const runs = backends.map((b) => opRuns(b, op, shape, stride)) as [OpRuns, OpRuns];
          release.push(() => runs.forEach((r) => r.release()));
          const label = `${op} ${shapeName(shape)} s${stride}`;
          pairs.push({ label: `${label} fwd`, run: [runs[0].forward, runs[1].forward] });
          pairs.push({ label: `${label} f+b`, run: [runs[0].forwardBackward, runs[1].forwardBackward] });
        }
      }
    }
    for (const setting of opts.search) {
      const steps = await Promise.all(backends.map((b) => searchStepParts(b, setting)));
      release.push(() => steps.forEach((s) => s.release()));
      const stepOf = (i: 0 | 1) => async () => {
        await steps[i]!.run.architectStep();
        await steps[i]!.run.weightStep();
      };
      pairs.push({ label: `search step ${setting.key} fwd`, run: [steps[0]!.run.forward, steps[1]!.run.forward] });
      pairs.push({ label: `search step ${setting.key} a+w`, run: [stepOf(0), stepOf(1)] });
    }
    const best = await timePairs(pairs, opts.rounds);
    const width = Math.max(...pairs.map((p) => p.label.length));
    pairs.forEach((pair, i) => {
      const [other, self] = best[i]!;
      console.log(`${pair.label.padEnd(width)}  ${other.toFixed(3).padStart(9)} → ${self.toFixed(3).padStart(9)}  ${(other / self).toFixed(3)}×`);
    });
  } finally {
    release.forEach((r) => r());
    backends.forEach((b) => b.destroy());
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`compare-kernels: ${error.message}`);
  process.exit(2);
}
