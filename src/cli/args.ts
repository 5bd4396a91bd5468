// Flag parsing shared by every command: node's strict parseArgs, with one-line errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KERNEL_POLICIES, type KernelPolicy } from '../../runtime/kernelVariants.ts';
import { RECOMPUTE_MODES, type RecomputeMode } from '../train/memory.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** A negative number after a flag that takes a value, which parseArgs would call ambiguous. */
const NEGATIVE_NUMBER = /^-(\.?\d|Infinity$)/;

export function parseFlags<T extends Options>(command: string, argv: string[], options: T) {
  // `--batch-size -3` goes on as `--batch-size=-3`, for numberFlag to refuse by its range, a quoted
  // value of several words (`--search-flags "--layers 4"`) as one value, and so does a single flag
  // given to a flags option (`--search-flags --keep-pruned-edges`), whose values are flags.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [arg, next] = [argv[i]!, argv[i + 1]];
    const takesValue = arg.startsWith('--') && options[arg.slice(2)]?.type === 'string';
    const flagsOption = arg.endsWith('-flags');
    if (takesValue && next !== undefined && (NEGATIVE_NUMBER.test(next) || /^-.*\s/.test(next) || (flagsOption && next.startsWith('-')))) {
      args.push(`${arg}=${argv[++i]}`);
    } else args.push(arg);
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see sgas ${command} --help)`);
  }
}

/**
 * A command's hyperparameter flags given to a sweep as one string (--search-flags "--layers 6"),
 * parsed as that command parses them; the flags the sweep sets for each job itself are refused.
 */
export function sweepJobFlags(command: string, text: string, options: Options, sweepSets: readonly string[]): Record<string, string | boolean | undefined> {
  const flags = parseFlags(command, text.split(/\s+/).filter(Boolean), options).values as Record<string, string | boolean | undefined>;
  const fixed = sweepSets.filter((f) => flags[f] !== undefined);
  if (fixed.length) throw new UsageError(`--${command}-flags: --${fixed.join(', --')} ${fixed.length > 1 ? 'are' : 'is'} the sweep's own`);
  return flags;
}

/** The values a numeric flag takes: min and max inclusive, above and below exclusive. */
export interface Range {
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

export const POSITIVE_INTEGER: Range = { integer: true, min: 1 };
export const NON_NEGATIVE_INTEGER: Range = { integer: true, min: 0 };
export const POSITIVE: Range = { above: 0 };
export const NON_NEGATIVE: Range = { min: 0 };
/** [0, 1): momentum, Adam's betas, a drop probability. */
export const FRACTION: Range = { min: 0, below: 1 };

/** Hyperparameters that sgas search and sgas train both take, by config key. */
export const SHARED_RANGES = {
  initChannels: POSITIVE_INTEGER, layers: { integer: true, min: 3 }, maxImages: NON_NEGATIVE_INTEGER, imageSize: NON_NEGATIVE_INTEGER,
  cropPadding: NON_NEGATIVE_INTEGER, learningRate: POSITIVE, learningRateMin: NON_NEGATIVE, momentum: FRACTION, weightDecay: NON_NEGATIVE,
  gradClip: POSITIVE, seed: NON_NEGATIVE_INTEGER,
} satisfies Record<string, Range>;

/** The name of a config key's flag: initChannels → init-channels. */
export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Ranges by config key, as ranges by flag name. */
export const byFlag = (ranges: Record<string, Range>): Record<string, Range> =>
  Object.fromEntries(Object.entries(ranges).map(([key, range]) => [kebab(key), range]));

/** What a range asks for, as the refusal says it: "a positive integer", "a number >= 0 and < 1". */
export function describeRange({ integer = false, min, max, above, below }: Range): string {
  const kind = integer ? 'integer' : 'number';
  const onlyLower = max === undefined && below === undefined && (min === undefined) !== (above === undefined);
  if (onlyLower && (min === 0 || (integer && min === 1) || above === 0)) return `a ${min === 0 ? 'non-negative' : 'positive'} ${kind}`;
  const bounds = [min !== undefined && `>= ${min}`, above !== undefined && `> ${above}`, max !== undefined && `<= ${max}`, below !== undefined && `< ${below}`];
  return `${integer ? 'an integer' : 'a number'} ${bounds.filter(Boolean).join(' and ')}`.trimEnd();
}

/** A numeric flag's value, within its range (integers: safe integers); absent: the fallback. */
export function numberFlag(name: string, value: string | undefined, fallback: number, range: Range): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  const { integer = false, min = -Infinity, max = Infinity, above = -Infinity, below = Infinity } = range;
  const inside = Number.isFinite(n) && n >= min && n <= max && n > above && n < below && (!integer || Number.isSafeInteger(n));
  if (!inside) throw new UsageError(`--${name} ${value}: expected ${describeRange(range)}`);
  return n;
}

/** --preset's value, one of `presets`; absent: the fallback. */
export function presetFlag(value: string | boolean | undefined, presets: Record<string, unknown>, fallback: string): string {
  const preset = String(value ?? fallback);
  if (!Object.hasOwn(presets, preset)) throw new UsageError(`--preset ${preset}: unknown preset (presets: ${Object.keys(presets).join(', ')})`);
  return preset;
}

/** The numeric hyperparameter flags given (--init-channels → initChannels), checked against their ranges; the seed is apart. */
export function numericOverrides<Key extends string>(flags: Record<string, string | boolean | undefined>, ranges: Record<Key, Range>): Partial<Record<Key, number>> {
  const overrides: Partial<Record<Key, number>> = {};
  for (const key of Object.keys(ranges) as Key[]) {
    const v = flags[kebab(key)];
    if (v !== undefined && key !== 'seed') overrides[key] = numberFlag(kebab(key), String(v), 0, ranges[key]);
  }
  return overrides;
}

/** Checks every numeric flag given against its range, before a command does anything with the others. */
export function checkNumericFlags(values: Record<string, unknown>, ranges: Record<string, Range>): void {
  for (const [flag, range] of Object.entries(ranges)) {
    if (values[flag] !== undefined) numberFlag(flag, String(values[flag]), 0, range);
  }
}

/** parseArgs options for numeric flags: each takes a value that numberFlag checks. */
export function numericOptions<Name extends string>(ranges: Record<Name, Range>): Record<Name, { type: 'string' }> {
  return Object.fromEntries(Object.keys(ranges).map((name) => [name, { type: 'string' as const }])) as Record<Name, { type: 'string' }>;
}

/** `--recompute auto|cells|off` of the search and training commands. */
export function recomputeFlag(value: string): RecomputeMode {
  if (!RECOMPUTE_MODES.includes(value as RecomputeMode)) throw new UsageError(`--recompute ${value}: expected ${RECOMPUTE_MODES.join(', ')}`);
  return value as RecomputeMode;
}

const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** The numeric device flags backendFlag takes, every command alike. */
export const DEVICE_FLAG_RANGES: Record<string, Range> = { threads: POSITIVE_INTEGER };

export interface DeviceFlags {
  choice: BackendChoice;
  /** `--adapter INDEX|TEXT`, as `sgas adapters` lists them; undefined: auto. */
  adapter?: string;
  /** `--kernels auto|tune|plain|tiled`: which WGSL kernel variants run; undefined: auto. */
  kernels?: KernelPolicy;
  /** `--threads N`: the WebAssembly backend's threads; undefined: every core. */
  threads?: number;
  argv: string[];
}

/**
 * `--backend webgpu|wasm|auto`, `--adapter INDEX|TEXT`, `--kernels auto|tune|plain|tiled` and
 * `--threads N`, taken by every command that computes. auto (the default): WebGPU on a real GPU,
 * WebAssembly when the only adapters are software ones or there is none; a named adapter is taken as asked.
 */
export function backendFlag(argv: string[]): DeviceFlags {
  const rest: string[] = [];
  const flags: DeviceFlags = { choice: 'auto', argv: rest };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = ['--backend', '--adapter', '--kernels', '--threads'].find((f) => arg === f || arg.startsWith(`${f}=`));
    if (!name) {
      rest.push(arg);
      continue;
    }
    const value = arg === name ? argv[++i] : arg.slice(name.length + 1);
    if (name === '--threads') {
      if (!value || value.startsWith('--')) throw new UsageError('--threads: expected the number of WebAssembly threads (e.g. --threads 2)');
      flags.threads = numberFlag('threads', value, 0, DEVICE_FLAG_RANGES.threads!);
      continue;
    }
    if (name === '--kernels') {
      if (!KERNEL_POLICIES.includes(value as KernelPolicy)) throw new UsageError(`--kernels ${value ?? ''}: expected one of ${KERNEL_POLICIES.join(', ')}`);
      flags.kernels = value as KernelPolicy;
      continue;
    }
    if (name === '--adapter') {
      if (!value || value.startsWith('--')) throw new UsageError('--adapter: expected an index or a name as sgas adapters lists them (e.g. --adapter 1, --adapter llvmpipe)');
      flags.adapter = value;
      continue;
    }
    if (!BACKENDS.includes(value as BackendChoice)) throw new UsageError(`--backend ${value ?? ''}: expected one of ${BACKENDS.join(', ')}`);
    flags.choice = value as BackendChoice;
  }
  if (flags.threads !== undefined && (flags.choice === 'webgpu' || flags.adapter !== undefined)) {
    throw new UsageError(`--threads ${flags.threads} sets the WebAssembly backend's threads, and ${flags.choice === 'webgpu' ? '--backend webgpu' : `--adapter ${flags.adapter}`} asks for WebGPU: drop one of them`);
  }
  return flags;
}

/** The device flags of the long-running commands (search, train), as their help lists them. */
export const RUN_DEVICE_HELP = `  --profile      each kernel's device time and share of a step, dispatches and submits a step
                 (WebGPU: timestamp queries where the adapter has them); also written to profile.json
  --backend auto|webgpu|wasm   (auto: WebGPU on a real GPU, else WebAssembly)
  --adapter INDEX|TEXT         a WebGPU adapter as sgas adapters lists them (implies WebGPU)
  --kernels auto|tune|plain|tiled   WGSL kernel variants (auto: autotuned on a real GPU, plain on a
                 software one; tune: autotuned anywhere)
  --threads N    the WebAssembly backend's threads (default: every core)
A lost GPU device is replaced on the same adapter and the run goes on from its last epoch's checkpoint.
`;
