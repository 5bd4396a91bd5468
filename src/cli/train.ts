// `sgas train`: trains a genotype from scratch (default: the cpu preset on the embedded
// Fashion-MNIST) and writes log.jsonl, an atomic checkpoint after every epoch and result.json to
// --out. The flags become the options object the library's train() takes; this adds the progress
// bar and Ctrl-C.
import type { Backend } from '../../runtime/index.ts';
import { DEFAULT_TRAIN_PRESET, TRAIN_PRESETS, trainPresetConfig, type TrainConfig } from '../eval/config.ts';
import type { TrainEpochRecord } from '../eval/train.ts';
import type { TrainOptions } from '../jobs/options.ts';
import { trainWith } from '../jobs/train.ts';
import {
  byFlag, FRACTION, kebab, NON_NEGATIVE, NON_NEGATIVE_INTEGER, numberFlag, numericOptions, numericOverrides, parseFlags, POSITIVE_INTEGER, presetFlag, recomputeFlag,
  SHARED_RANGES, sweepJobFlags, UsageError, type Range,
} from './args.ts';
import { DATA_FLAG_RANGES, DATA_FLAGS, DATA_HELP, dataFlags } from './dataFlags.ts';
import { genotypeFlag } from './genotypeFlag.ts';
import { runCommand } from './runHooks.ts';

type Keys<V> = { [K in keyof TrainConfig]: TrainConfig[K] extends V ? K : never }[keyof TrainConfig];

const DEFAULTS = TRAIN_PRESETS[DEFAULT_TRAIN_PRESET]!.config;

/** Every hyperparameter is a flag named after its config key (initChannels → --init-channels), numbers with their range. */
const RANGES: Record<Keys<number>, Range> = {
  ...SHARED_RANGES, auxiliaryWeight: NON_NEGATIVE, dropPathProb: FRACTION, maxTestImages: NON_NEGATIVE_INTEGER,
  cutoutLength: POSITIVE_INTEGER, epochs: POSITIVE_INTEGER, batchSize: { integer: true, min: 2 },
};
const NUMERIC_KEYS = Object.keys(RANGES) as Keys<number>[];
/** Booleans also take --no-…. */
const BOOLEAN_KEYS = (Object.keys(DEFAULTS) as (keyof TrainConfig)[]).filter((k) => typeof DEFAULTS[k] === 'boolean') as Keys<boolean>[];

/** The range of every numeric flag of sgas train, by flag name. */
export const TRAIN_FLAG_RANGES = { ...byFlag(RANGES), ...DATA_FLAG_RANGES };

export const TRAIN_HELP = `usage: sgas train --genotype FILE|NAME|LITERAL [--preset ${Object.keys(TRAIN_PRESETS).join('|')}] [--data DIR] [--out DIR] [flags]
       sgas train --resume DIR [--data DIR]

--genotype: a genotype.json from sgas search, a file holding Genotype(...), a published name (e.g. Cri2_CIFAR_Best,
  DARTS_V2), or a Genotype(...) literal itself

presets:
${Object.entries(TRAIN_PRESETS).map(([name, p]) => `  ${name.padEnd(13)} ${p.description}`).join('\n')}

hyperparameter flags (override the preset):
  ${NUMERIC_KEYS.map((k) => `--${kebab(k)} N`).join('  ')}
  ${BOOLEAN_KEYS.map((k) => `--${kebab(k)} / --no-${kebab(k)}`).join('  ')}
  --recompute auto|cells|off   compute each cell's insides again in the backward instead of keeping
                 them: a third more work for a fraction of the memory (auto: where a step would not
                 fit, as the paper's C=36, 20 cells, batch 96 does not in the WebAssembly heap's 4 GiB)
  --backend auto|webgpu|wasm   (auto: WebGPU on a real GPU, else WebAssembly)
${DATA_HELP}`;

const HYPERPARAMETER_FLAGS = {
  ...numericOptions(TRAIN_FLAG_RANGES),
  ...Object.fromEntries(BOOLEAN_KEYS.flatMap((k) => [[kebab(k), { type: 'boolean' as const }], [`no-${kebab(k)}`, { type: 'boolean' as const }]])),
};

const TRAIN_FLAGS = {
  ...HYPERPARAMETER_FLAGS,
  ...DATA_FLAGS, genotype: { type: 'string' }, preset: { type: 'string' }, out: { type: 'string' },
  resume: { type: 'string' }, recompute: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

/** Flags a sweep sets for each of its trainings, so --train-flags may not. */
const SWEEP_SETS = ['genotype', 'preset', 'out', 'resume', 'seed', 'help', ...Object.keys(DATA_FLAGS)];

/** The hyperparameters that `sgas train` flags (a sweep's --train-flags) set over the preset. */
export function trainOverrides(text: string): Partial<TrainConfig> {
  return trainOptions(sweepJobFlags('train', text, TRAIN_FLAGS, SWEEP_SETS)).overrides!;
}

export async function trainCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('train', argv, TRAIN_FLAGS);
  const flags = values as Record<string, string | boolean | undefined>;
  if (flags.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  if (flags.resume) {
    const fixed = ['genotype', 'preset', 'out', 'recompute', 'resize', 'test-portion', 'split-seed', ...Object.keys(HYPERPARAMETER_FLAGS)].filter((f) => flags[f] !== undefined);
    if (fixed.length) throw new UsageError(`--resume continues with the run's own settings; drop --${fixed.join(', --')}`);
  }
  const options = trainOptions(flags);
  // Checked here, so that a missing or malformed genotype fails before the data is loaded.
  if (!options.resume) genotypeFlag(flags.genotype as string | undefined, 'train');
  return runCommand<TrainEpochRecord>('sgas train', epochLine, async (hooks) => {
    const { report } = await trainWith(options, hooks, backend);
    return { stdout: `test accuracy ${(100 * report.testAccuracy).toFixed(2)}% (loss ${report.testLoss.toFixed(4)}) on ${report.testImages} images after ${report.epochs} epochs\n` };
  });
}

/** The options object the flags ask for: the genotype, the preset, the hyperparameters given, seed, data, out. */
export function trainOptions(flags: Record<string, string | boolean | undefined>): TrainOptions {
  const data = dataFlags(flags);
  if (flags.resume) return { out: String(flags.resume), resume: true, data };
  const preset = presetFlag(flags.preset, TRAIN_PRESETS, DEFAULT_TRAIN_PRESET);
  const overrides: Partial<TrainConfig> = numericOverrides(flags, RANGES);
  for (const key of BOOLEAN_KEYS) {
    if (flags[kebab(key)] && flags[`no-${kebab(key)}`]) throw new UsageError(`--${kebab(key)} and --no-${kebab(key)} contradict each other`);
    if (flags[kebab(key)]) overrides[key] = true;
    if (flags[`no-${kebab(key)}`]) overrides[key] = false;
  }
  if (flags.recompute !== undefined) overrides.recompute = recomputeFlag(String(flags.recompute));
  const options: TrainOptions = { genotype: String(flags.genotype), preset, overrides, data };
  if (flags.seed !== undefined) options.seed = numberFlag('seed', String(flags.seed), 0, RANGES.seed);
  if (flags.out !== undefined) options.out = String(flags.out);
  return options;
}

function epochLine(r: TrainEpochRecord): string {
  return `epoch ${r.epoch + 1}/${r.epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(1)}%  ` +
    `test loss ${r.testLoss.toFixed(4)} acc ${(100 * r.testAccuracy).toFixed(2)}%  lr ${r.lr.toFixed(5)}  drop path ${r.dropPathProb.toFixed(3)}  ${r.seconds.toFixed(1)}s`;
}
