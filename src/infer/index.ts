// sgas-webgpu/infer: a trained network (a .sgas file from `sgas export --format sgas`) predicting
// classes of images, on our WebGPU or WebAssembly kernels, in Node and in a page. Nothing of the
// search or of training comes with it.
//
//   const model = await loadModel('model.sgas', { backend: 'auto' });
//   const [best] = (await model.predict(image)).top;   // { className, probability }
import { createBackend, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import type { DataInfo } from '../data/dataInfo.ts';
import { isNode, nodeBuiltin } from '../../runtime/wasm/module.ts';
import { readModelFile, trainedModel, type TrainedModel } from '../eval/modelFile.ts';
import { genotypeToPython } from '../search/genotype.ts';
import { pixelsOf, writeNetworkInput, type ImageInput } from './images.ts';

export type { DataInfo } from '../data/dataInfo.ts';
export { ImageInputError, type DrawableImage, type ImageInput, type PixelImage } from './images.ts';

/** A URL (http(s), or a path relative to the page), a file path or file: URL in Node, or the file's bytes. */
export type ModelSource = string | URL | Uint8Array | ArrayBuffer;

export interface LoadModelOptions {
  /** 'auto' (default): WebGPU on a real GPU, else WebAssembly. Or a backend the caller opened (and closes). */
  backend?: 'auto' | 'webgpu' | 'wasm' | Backend;
  /** Where the kernels*.wasm files are served, when the app bundles this module itself (default: ./wasm/ beside the bundle). */
  wasmUrl?: string | URL;
  /** Threads of the WebAssembly backend (default: every core; 1 in a page without cross-origin isolation). */
  threads?: number;
}

export interface PredictOptions {
  /** How many classes `top` lists, most probable first (default 3). */
  topK?: number;
}

export interface Prediction {
  /** Softmax probabilities in class order. */
  probs: number[];
  logits: number[];
  top: { className: string; probability: number }[];
}

/** Images per forward: enough to fill a GPU, few enough for a small WebAssembly heap. */
const BATCH = 32;

export class Model {
  /** Class names in label order. */
  readonly classes: readonly string[];
  /** The DARTS-style Genotype(...) string of the network's cells. */
  readonly genotype: string;
  /**
   * The training run's data record: images are resized to imageSize with its resize filter and
   * normalised with its mean and std, as DataInfo states step by step.
   */
  readonly input: Readonly<DataInfo>;

  constructor(private readonly model: TrainedModel, readonly backend: Backend, private readonly ownsBackend: boolean) {
    this.classes = model.dataInfo.classes;
    this.genotype = genotypeToPython(model.genotype);
    this.input = model.dataInfo;
  }

  /** Probabilities, logits and the top-k classes of one image, or of each of a list. */
  predict(image: ImageInput, options?: PredictOptions): Promise<Prediction>;
  predict(images: readonly ImageInput[], options?: PredictOptions): Promise<Prediction[]>;
  async predict(images: ImageInput | readonly ImageInput[], options: PredictOptions = {}): Promise<Prediction | Prediction[]> {
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    const topK = Math.min(options.topK ?? 3, this.classes.length);
    if (!(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`predict: topK must be a positive integer, got ${options.topK}`);
    const predictions: Prediction[] = [];
    for (let start = 0; start < list.length; start += BATCH) {
      const logits = await this.logits(list.slice(start, start + BATCH));
      const K = this.classes.length;
      for (let i = 0; i < logits.length / K; i++) predictions.push(this.prediction(Array.from(logits.subarray(i * K, (i + 1) * K)), topK));
    }
    return Array.isArray(images) ? predictions : predictions[0]!;
  }

  /** The network's logits for a batch, [images.length × classes] in row order. */
  async logits(images: readonly ImageInput[]): Promise<Float32Array> {
    const { dataInfo, net } = this.model;
    const { channels, imageSize: [height, width] } = dataInfo;
    const per = channels * height * width;
    const batch = new Float32Array(images.length * per);
    images.forEach((image, i) => writeNetworkInput(pixelsOf(image), dataInfo, batch.subarray(i * per, (i + 1) * per)));
    const tape = new Tape();
    try {
      const logits = tape.run(() => Tape.noGrad(() =>
        net.forward(Tensor.from(this.backend, batch, [images.length, channels, height, width])).logits));
      return await logits.read();
    } finally {
      tape.dispose();
    }
  }

  private prediction(logits: number[], topK: number): Prediction {
    const max = Math.max(...logits);
    const exp = logits.map((v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    const probs = exp.map((e) => e / sum);
    const top = probs
      .map((probability, k) => ({ className: this.classes[k]!, probability, k }))
      .sort((a, b) => b.probability - a.probability || a.k - b.k)
      .slice(0, topK)
      .map(({ className, probability }) => ({ className, probability }));
    return { probs, logits, top };
  }

  /** Frees the network, and the backend if loadModel opened it. */
  dispose(): void {
    this.model.net.release();
    if (this.ownsBackend) (this.backend as { destroy?: () => void }).destroy?.();
  }
}

export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<Model> {
  const { bytes, name } = await readSource(source);
  const saved = readModelFile(bytes, name);
  const choice = options.backend ?? 'auto';
  const owns = typeof choice === 'string';
  const backend = owns ? await createBackend({ backend: choice, kernelsUrl: options.wasmUrl, threads: options.threads }) : choice;
  try {
    return new Model(trainedModel(backend, saved, name), backend, owns);
  } catch (e) {
    if (owns) (backend as { destroy?: () => void }).destroy?.();
    throw e;
  }
}

async function readSource(source: ModelSource): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'model bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'model bytes' };
  const text = String(source);
  const isFile = isNode && !/^(https?|data|blob):/i.test(text);
  if (isFile) {
    const { readFile } = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
    const bytes = await readFile(text.startsWith('file:') ? new URL(text) : text).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`loadModel: cannot read ${text} (${e.code ?? e.message})`);
    });
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name: text };
  }
  const response = await fetch(source).catch((e: Error) => {
    throw new Error(`loadModel: cannot fetch ${text} (${e.message})`);
  });
  if (!response.ok) throw new Error(`loadModel: ${text} answered ${response.status} ${response.statusText}`);
  return { bytes: new Uint8Array(await response.arrayBuffer()), name: text };
}
