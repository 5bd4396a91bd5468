// Flag parsing shared by every command: node's strict parseArgs, with one-line errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KERNEL_POLICIES, type KernelPolicy } from '../../runtime/index.ts';
import { RECOMPUTE_MODES, type RecomputeMode } from '../train/memory.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see sgas ${command} --help)`);
  }
}

/** A numeric flag: must parse as a finite number within [min, max] (and be an integer if asked). */
export function numberFlag(name: string, value: string | undefined, fallback: number, range: { min?: number; max?: number; integer?: boolean } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const { min = -Infinity, max = Infinity, integer = false } = range;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(`--${name} ${value}: expected ${kind}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` and <= ${max}` : ''}`);
  }
  return n;
}

/** `--recompute auto|cells|off` of the search and training commands. */
export function recomputeFlag(value: string): RecomputeMode {
  if (!RECOMPUTE_MODES.includes(value as RecomputeMode)) throw new UsageError(`--recompute ${value}: expected ${RECOMPUTE_MODES.join(', ')}`);
  return value as RecomputeMode;
}

const BACKENDS = ['auto', 'webgpu', 'wasm'] as const;
type BackendChoice = (typeof BACKENDS)[number];

export interface DeviceFlags {
  choice: BackendChoice;
  /** `--adapter INDEX|TEXT`, as `sgas adapters` lists them; undefined: auto. */
  adapter?: string;
  /** `--kernels auto|tune|plain|tiled`: which WGSL kernel variants run; undefined: auto. */
  kernels?: KernelPolicy;
  argv: string[];
}

/**
 * `--backend webgpu|wasm|auto`, `--adapter INDEX|TEXT` and `--kernels auto|tune|plain|tiled`, taken by
 * every command that computes. auto (the default): WebGPU on a real GPU, WebAssembly when the only
 * adapters are software ones or there is none; a named adapter is taken as asked.
 */
export function backendFlag(argv: string[]): DeviceFlags {
  const rest: string[] = [];
  const flags: DeviceFlags = { choice: 'auto', argv: rest };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = ['--backend', '--adapter', '--kernels'].find((f) => arg === f || arg.startsWith(`${f}=`));
    if (!name) {
      rest.push(arg);
      continue;
    }
    const value = arg === name ? argv[++i] : arg.slice(name.length + 1);
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
  return flags;
}

/** The device flags of the long-running commands (search, train), as their help lists them. */
export const RUN_DEVICE_HELP = `  --profile      each kernel's device time and share of a step, dispatches and submits a step
                 (WebGPU: timestamp queries where the adapter has them); also written to profile.json
  --backend auto|webgpu|wasm   (auto: WebGPU on a real GPU, else WebAssembly)
  --adapter INDEX|TEXT         a WebGPU adapter as sgas adapters lists them (implies WebGPU)
  --kernels auto|tune|plain|tiled   WGSL kernel variants (auto: autotuned on a real GPU, plain on a
                 software one; tune: autotuned anywhere)
A lost GPU device is replaced on the same adapter and the run goes on from its last epoch's checkpoint.
`;
