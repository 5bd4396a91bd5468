// `sgas train`: trains a genotype from scratch (default: the cpu preset on the embedded
// Fashion-MNIST) and writes log.jsonl and an atomic checkpoint after every epoch to --out.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import { DEFAULT_TRAIN_PRESET, TRAIN_PRESETS, trainPresetConfig, validateTrainConfig, type TrainConfig } from '../eval/config.ts';
import { prepareTrainData, Trainer, type TrainEpochRecord } from '../eval/train.ts';
import { genotypeToJson, genotypeToPython } from '../search/genotype.ts';
import { numberFlag, parseFlags, recomputeFlag, UsageError } from './args.ts';
import { JsonLines, writeFileAtomic } from './files.ts';
import { genotypeFlag, isGenotypeLiteral } from './genotypeFlag.ts';
import { Progress } from './progress.ts';
import { describePlan, withMemoryHint } from '../train/memory.ts';

type Keys<V> = { [K in keyof TrainConfig]: TrainConfig[K] extends V ? K : never }[keyof TrainConfig];

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const DEFAULTS = TRAIN_PRESETS[DEFAULT_TRAIN_PRESET]!.config;
const keysOf = <V>(type: string) => (Object.keys(DEFAULTS) as (keyof TrainConfig)[]).filter((k) => typeof DEFAULTS[k] === type) as Keys<V>[];

/** Every hyperparameter is a flag named after its config key (initChannels → --init-channels); booleans also take --no-…. */
const NUMERIC_KEYS = keysOf<number>('number');
const BOOLEAN_KEYS = keysOf<boolean>('boolean');
const REAL_KEYS = new Set<string>(['auxiliaryWeight', 'dropPathProb', 'learningRate', 'learningRateMin', 'momentum', 'weightDecay', 'gradClip']);

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
`;

export async function trainCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const hyperparameterFlags = Object.fromEntries([
    ...NUMERIC_KEYS.map((k) => [kebab(k), { type: 'string' as const }]),
    ...BOOLEAN_KEYS.flatMap((k) => [[kebab(k), { type: 'boolean' as const }], [`no-${kebab(k)}`, { type: 'boolean' as const }]]),
  ]);
  const { values } = parseFlags('train', argv, {
    ...hyperparameterFlags,
    genotype: { type: 'string' }, preset: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
    resume: { type: 'string' }, recompute: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  const flags = values as Record<string, string | boolean | undefined>;
  if (flags.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  if (flags.resume) {
    const fixed = ['genotype', 'preset', 'out', 'recompute', ...Object.keys(hyperparameterFlags)].filter((f) => flags[f] !== undefined);
    if (fixed.length) throw new UsageError(`--resume continues with the run's own settings; drop --${fixed.join(', --')}`);
    return resume(String(flags.resume), flags.data as string | undefined, backend);
  }

  const presetName = String(flags.preset ?? DEFAULT_TRAIN_PRESET);
  if (!TRAIN_PRESETS[presetName]) throw new UsageError(`--preset ${presetName}: unknown preset (presets: ${Object.keys(TRAIN_PRESETS).join(', ')})`);
  const genotype = genotypeFlag(flags.genotype as string | undefined, 'train');
  const config = trainPresetConfig(presetName);
  for (const key of NUMERIC_KEYS) {
    const v = flags[kebab(key)];
    if (v !== undefined) (config[key] as number) = numberFlag(kebab(key), String(v), config[key], { integer: !REAL_KEYS.has(key) });
  }
  for (const key of BOOLEAN_KEYS) {
    if (flags[kebab(key)] && flags[`no-${kebab(key)}`]) throw new UsageError(`--${kebab(key)} and --no-${kebab(key)} contradict each other`);
    if (flags[kebab(key)]) config[key] = true;
    if (flags[`no-${kebab(key)}`]) config[key] = false;
  }
  if (flags.recompute !== undefined) config.recompute = recomputeFlag(String(flags.recompute));
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const genotypeName = isGenotypeLiteral(String(flags.genotype)) ? 'literal' : basename(String(flags.genotype)).replace(/\.\w+$/, '');
  const out = String(flags.out ?? join('runs', `train-${presetName}-${genotypeName}-seed${config.seed}`));
  if (existsSync(join(out, 'checkpoint.bin'))) {
    throw new UsageError(`${out} already holds a training checkpoint: resume it with --resume ${out}, or choose another --out`);
  }
  const dataDir = flags.data as string | undefined;
  const data = prepareTrainData(loadDataset(dataDir, 'train'), loadDataset(dataDir, 'test'), config);
  const trainer = new Trainer(await backend(), config, genotype, data);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, 'run.json'), JSON.stringify({
    data: dataDir ?? 'embedded fashion-mnist', preset: presetName, genotypeSource: flags.genotype,
    genotype: genotypeToJson(genotype), python: genotypeToPython(genotype), config,
  }, null, 2) + '\n');
  const { network, auxiliary } = trainer.net.parameterCounts();
  return drive(trainer, out, `${presetName} preset, ${config.epochs} epochs, seed ${config.seed}, ${network} parameters (+${auxiliary} auxiliary)`);
}

/** The --data a run used, as run.json beside its checkpoint records it (undefined: the embedded data). */
export function runDataDir(dir: string): string | undefined {
  const path = join(dir, 'run.json');
  const data = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')).data : undefined;
  return data === 'embedded fashion-mnist' ? undefined : data;
}

async function resume(dir: string, dataFlag: string | undefined, backend: () => Promise<Backend>): Promise<number> {
  const path = join(dir, 'checkpoint.bin');
  if (!existsSync(path)) throw new UsageError(`--resume ${dir}: no checkpoint.bin there (sgas train writes one after each epoch)`);
  const dataDir = dataFlag ?? runDataDir(dir);
  const trainer = Trainer.fromCheckpoint(await backend(), new Uint8Array(readFileSync(path)), loadDataset(dataDir, 'train'), loadDataset(dataDir, 'test'), path);
  if (trainer.finished) process.stderr.write(`${dir}: the training already finished (${trainer.epochs} epochs)\n`);
  return drive(trainer, dir, `resuming at epoch ${trainer.epoch + 1} of ${trainer.epochs}`);
}

async function drive(trainer: Trainer, out: string, what: string): Promise<number> {
  const log = new JsonLines(join(out, 'log.jsonl'));
  const steps = trainer.stepsPerEpoch;
  const progress = new Progress(trainer.epochs * steps);
  progress.log(`sgas train: ${what}; writing to ${out}`);
  const plan = describePlan(await trainer.memoryPlan());
  if (plan) progress.log(plan);
  let done = trainer.epoch * steps;
  try {
    await trainer.run({
      step: (s) => {
        done++;
        progress.update(done, { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, loss: s.loss, acc: s.accuracy, lr: s.lr });
      },
      epoch: (r) => {
        progress.log(epochLine(r));
        log.write({ type: 'epoch', ...r });
      },
      checkpoint: (bytes) => writeFileAtomic(join(out, 'checkpoint.bin'), bytes),
    });
    progress.done();
    const last = trainer.records[trainer.records.length - 1];
    if (last) {
      process.stdout.write(`test accuracy ${(100 * last.testAccuracy).toFixed(2)}% (loss ${last.testLoss.toFixed(4)}) on ${trainer.data.test.n} images after ${last.epoch + 1} epochs\n`);
    }
    return 0;
  } catch (e) {
    throw withMemoryHint(e, trainer.net.recomputeCells);
  } finally {
    trainer.release();
  }
}

function epochLine(r: TrainEpochRecord): string {
  return `epoch ${r.epoch + 1}/${r.epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(1)}%  ` +
    `test loss ${r.testLoss.toFixed(4)} acc ${(100 * r.testAccuracy).toFixed(2)}%  lr ${r.lr.toFixed(5)}  drop path ${r.dropPathProb.toFixed(3)}  ${r.seconds.toFixed(1)}s`;
}
