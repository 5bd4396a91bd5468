// The messages between the page (main thread: drawing, input, IndexedDB) and its engine Worker
// (the backend, the data, the search), declared once for both sides. Each side switches on
// `type`; TypeScript checks that every kind is handled where a switch is exhaustive.
//
// Growing it: a new kind of work (training, inference, a sweep job) adds its requests to
// EngineRequest and its events to EngineEvent, with a handler in engine.ts and a listener where
// the page uses it. A request that wants one answer carries an `id` that its answer repeats; a
// long job (a search) carries a `job` number that every event about it repeats, so the page can
// tell a stopped job's last events from the next job's.
import type { SplitRule } from '../data/dataInfo.ts';
import type { DecodedRow } from '../data/decodedImages.ts';
import type { SkippedFile } from '../data/folderRead.ts';
import type { PreparedImage } from '../data/image.ts';
import type { ResizeFilter } from '../data/resample.ts';
import type { TensorResult } from '../golden/runner.ts';
import type { SearchReport } from '../search/report.ts';
import type { EpochRecord, StepInfo } from '../search/search.ts';
import type { SearchConfig } from '../search/config.ts';
import type { TrainConfig } from '../eval/config.ts';
import type { Genotype } from '../search/genotype.ts';
import type { LoopStep } from '../train/loop.ts';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

export interface SearchSettings {
  preset: string;
  config: SearchConfig;
}

/** An image folder's settings, as sgas search's --image-size (null: the default rule), --resize, --test-portion and --split-seed. */
export interface FolderSettings {
  imageSize: number | null;
  resize: ResizeFilter;
  testPortion: number;
  splitSeed: number;
}

/** A folder's images decoded at one size, 8-bit (DecodedImages packed): what IndexedDB keeps in place of the files. */
export interface KeptImages {
  imageSize: [number, number];
  resize: ResizeFilter;
  rows: DecodedRow[];
  pixels: Uint8Array;
}

/** A folder of images: as chosen (its files), or as kept with a search after a reload (its decoded images, no files). */
export interface ImageFolder {
  /** The folder's name, as messages name it. */
  name: string;
  /** Everything in it, relative and '/'-separated, folders ending in '/'. */
  entries: string[];
  files: { path: string; file: File }[];
  kept: KeptImages | null;
}

/** Where a job's images come from: the embedded Fashion-MNIST, or the user's own folder. */
export type DataSource = { kind: 'embedded' } | { kind: 'folder'; folder: ImageFolder; settings: FolderSettings };

/** What the page shows of a folder before a search: what `sgas search --data` finds in it, and sample images. */
export interface FolderSummary {
  name: string;
  classes: string[];
  /** Images per class in the training and test parts. */
  counts: { train: number[]; test: number[] };
  imageSize: [number, number];
  channels: number;
  resize: ResizeFilter;
  split: SplitRule;
  /** Training images that could not be decoded; the search goes without them. */
  skipped: SkippedFile[];
  notes: string[];
  /** The first few decodable training images of each class, at the image size. */
  samples: { label: number; image: PreparedImage }[];
}

/** Where a search stopped mid-epoch: `step` of `steps` done in epoch `epoch` (0-based). */
export interface StepPosition {
  epoch: number;
  step: number;
  steps: number;
}

/** A sweep's job leased from `sgas serve --redis` (src/sweep/lease.ts): a search or a training on the embedded data. */
export type SweepWork = { kind: 'search'; config: SearchConfig } | { kind: 'train'; config: TrainConfig; genotype: Genotype };

/** What a finished sweep job hands back beyond its checkpoints: the search's report, the training's counts. */
export type SweepWorkResult =
  | { kind: 'search'; report: SearchReport }
  | { kind: 'train'; testImages: number; parameters: { network: number; auxiliary: number } };

/** Page → engine. */
export type EngineRequest =
  /** First message: open the backend the page asks for (?backend=). Answered by `opened` or `open-failed`. */
  | { type: 'open'; backend: BackendChoice }
  /** A new search; the engine stops and drops any search it holds first. */
  | { type: 'search'; job: number; settings: SearchSettings; data: DataSource }
  /**
   * Continues a search: the one the engine holds paused under this job (checkpoint null), or one
   * rebuilt from checkpoint bytes (after a reload, or a CLI run's checkpoint.bin) under a new job.
   */
  | { type: 'resume'; job: number; checkpoint: Uint8Array | null; source: string; data: DataSource }
  /** Decodes a folder's training images and summarises it. Answered by `folder`; `decoding` events tell the progress. */
  | { type: 'folder'; id: number; folder: ImageFolder; settings: FolderSettings }
  /** Stops the job after the step in progress: `pause` keeps it to resume, `discard` drops it. */
  | { type: 'stop'; job: number; then: 'pause' | 'discard' }
  /** Runs a sweep job, new or from its stored checkpoint; `stop` ends it with `job-stopped` and the checkpoint to hand back. */
  | { type: 'sweep-job'; job: number; work: SweepWork; checkpoint: Uint8Array | null }
  /** Golden-vector files (under /golden/) run on the engine's backend. Answered by `golden`. */
  | { type: 'golden'; id: number; files: string[] };

/** Engine → page. */
export type EngineEvent =
  | { type: 'opened'; backend: 'webgpu' | 'wasm'; label: string; note: string }
  | { type: 'open-failed'; message: string }
  /** The job builds its network and data (the first step follows). */
  | { type: 'loading'; job: number }
  /** The job runs; from a checkpoint, its settings and finished epochs come with it. */
  | { type: 'running'; job: number; config: SearchConfig; records: EpochRecord[]; at: StepPosition | null }
  /** A job's images from a folder's files, to keep with its search: the decoded images, and the search's training files in order. */
  | { type: 'data'; job: number; kept: KeptImages; files: string[] }
  | { type: 'step'; job: number; info: StepInfo }
  /** An epoch ended: its record and the checkpoint to keep (the bytes of the CLI's checkpoint.bin). */
  | { type: 'epoch'; job: number; record: EpochRecord; checkpoint: Uint8Array }
  /** Paused after a step: the checkpoint to keep, and where in its epoch it stands (null: between epochs). */
  | { type: 'paused'; job: number; checkpoint: Uint8Array; at: StepPosition | null }
  | { type: 'discarded'; job: number }
  | { type: 'finished'; job: number; report: SearchReport }
  | { type: 'failed'; job: number; message: string }
  | { type: 'golden'; id: number; results: TensorResult[]; error?: string }
  | { type: 'folder'; id: number; summary: FolderSummary | null; error?: string }
  /** Images of the folder request `request` decoded so far. */
  | { type: 'decoding'; request: number; decoded: number }
  /** A sweep job's step, its epoch's checkpoint, its stop (with the checkpoint of a stop inside an epoch) and its end. */
  | { type: 'job-step'; job: number; info: LoopStep }
  | { type: 'job-epoch'; job: number; checkpoint: Uint8Array }
  | { type: 'job-stopped'; job: number; checkpoint: Uint8Array | null }
  | { type: 'job-finished'; job: number; result: SweepWorkResult }
  /** Sent by the page's side, not the engine: the Worker failed to load, or threw outside any job. */
  | { type: 'crashed'; message: string };

/** The buffers a message hands over instead of copying (checkpoints and a folder's images run to megabytes). */
export function transferables(message: EngineRequest | EngineEvent): Transferable[] {
  const bytes = 'checkpoint' in message ? message.checkpoint : message.type === 'data' ? message.kept.pixels : null;
  return bytes ? [bytes.buffer as ArrayBuffer] : [];
}
