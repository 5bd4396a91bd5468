// What a search or a training run is asked to do, as plain JSON data: the object `sgas search` and
// `sgas train` build from their flags, the library's search() and train() take, and a sweep puts
// on its queue. Resolving one gives the run's config, its data and its folder.
import { join } from 'node:path';
import type { Genotype } from '../search/genotype.ts';
import { DEFAULT_PRESET, PRESETS, validateConfig, type SearchConfig } from '../search/config.ts';
import { DEFAULT_TRAIN_PRESET, TRAIN_PRESETS, validateTrainConfig, type TrainConfig } from '../eval/config.ts';
import type { KernelPolicy } from '../../runtime/kernelVariants.ts';
import type { DataFlags } from '../cli/dataFlags.ts';
import { UsageError, type BackendChoice } from '../cli/args.ts';

export type { BackendChoice, KernelPolicy };

/** The backend a call opens when none is handed to it: the library's side of --backend, --adapter and --kernels. */
export interface BackendRequest {
  /** auto (WebGPU on a real GPU, else WebAssembly), webgpu or wasm. */
  backend?: BackendChoice;
  /** A WebGPU adapter by index or by part of its name, as `sgas adapters` lists them (implies WebGPU). */
  adapter?: string;
  /** The WGSL kernel variants (default auto: autotuned on a real GPU, plain on a software one). */
  kernels?: KernelPolicy;
  /** The WebAssembly backend's threads (default: every core). */
  threads?: number;
}

/** createBackend's options for a request, with the CLI's defaults. */
export function backendOptions(request: BackendRequest): { backend: BackendChoice; adapter?: string; kernels: KernelPolicy; threads?: number } {
  return { backend: request.backend ?? 'auto', adapter: request.adapter, kernels: request.kernels ?? 'auto', threads: request.threads };
}

/** Where the images come from: a folder (`--data DIR`) with the image-folder settings, or the embedded Fashion-MNIST (absent). */
export type DataOptions = Partial<DataFlags>;

interface RunOptions<Config> extends BackendRequest {
  /** The preset the config starts from (search: cpu; train: cpu). */
  preset?: string;
  /** Hyperparameters over the preset's, by config key. */
  overrides?: Partial<Config>;
  seed?: number;
  /** A folder of IDX or CIFAR-10 files or images, or its DataOptions; absent: the embedded Fashion-MNIST. */
  data?: string | DataOptions;
  /** The run folder (default runs/search-PRESET-seedS, runs/train-PRESET-NAME-seedS). */
  out?: string;
  /** Continue the run in `out` with its own settings (from its last checkpoint, or from run.json before the first). */
  resume?: boolean;
}

export interface SearchOptions extends RunOptions<SearchConfig> {
  criterion?: 1 | 2;
}

export interface TrainOptions extends RunOptions<TrainConfig> {
  /**
   * A search's folder or genotype.json, a file holding Genotype(...), a published genotype's name,
   * or the genotype itself. Not needed with resume.
   */
  genotype?: string | Genotype;
}

export function dataOptions(data: SearchOptions['data']): DataFlags {
  const given = typeof data === 'string' ? { dir: data } : data ?? {};
  return { dir: given.dir, imageSize: given.imageSize, resize: given.resize, testPortion: given.testPortion, splitSeed: given.splitSeed };
}

/** The preset's config with the options' overrides and seed over it, checked (a bad value is a UsageError, as from a flag). */
function configOf<Config extends { seed: number }>(
  options: RunOptions<Config>, presets: Record<string, { config: Config }>, defaultPreset: string, validate: (config: Config) => void,
): { preset: string; config: Config } {
  const preset = options.preset ?? defaultPreset;
  if (!Object.hasOwn(presets, preset)) throw new UsageError(`--preset ${preset}: unknown preset (presets: ${Object.keys(presets).join(', ')})`);
  const config: Config = structuredClone({ ...presets[preset]!.config, ...options.overrides });
  if (options.seed !== undefined) config.seed = options.seed;
  try {
    validate(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { preset, config };
}

/** The config a new search runs with: the preset, then the overrides, seed and criterion; checked. */
export function searchConfigOf(options: SearchOptions): { preset: string; config: SearchConfig } {
  return configOf(options, PRESETS, DEFAULT_PRESET, (config) => {
    if (options.criterion !== undefined) config.criterion = options.criterion;
    validateConfig(config);
  });
}

/** The config a new training runs with: the preset, then the overrides and seed; checked. */
export function trainConfigOf(options: TrainOptions): { preset: string; config: TrainConfig } {
  return configOf(options, TRAIN_PRESETS, DEFAULT_TRAIN_PRESET, validateTrainConfig);
}

export const defaultSearchOut = (preset: string, config: SearchConfig) => join('runs', `search-${preset}-seed${config.seed}`);
export const defaultTrainOut = (preset: string, genotypeName: string, config: TrainConfig) => join('runs', `train-${preset}-${genotypeName}-seed${config.seed}`);
