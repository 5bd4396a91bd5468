// A trained network on its own: the evaluation network without its auxiliary head, its genotype, and
// its data record (DataInfo: classes, input size, filter, normalisation). `sgas export --format sgas`
// writes it as one file in the checkpoint layout ("sgas-model-v1": the network's tensors only), which
// the inference API loads.
import type { Backend } from '../../runtime/index.ts';
import type { Module } from '../../runtime/module.ts';
import { Rng } from '../../runtime/rng.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../search/checkpoint.ts';
import { genotypeToJson, parseGenotype, type Genotype } from '../search/genotype.ts';
import { dataInfoProblem, type DataInfo } from '../data/dataInfo.ts';
import { EvalNetwork, type EvalNetworkConfig } from './model.ts';

export const MODEL_FILE_FORMAT = 'sgas-model-v1';

export interface TrainedModel {
  /** In evaluation mode, without the auxiliary head. */
  net: EvalNetwork;
  genotype: Genotype;
  /** What it expects of images and calls its classes, as its training run recorded it. */
  dataInfo: DataInfo;
}

interface SavedModel {
  format: typeof MODEL_FILE_FORMAT;
  genotype: ReturnType<typeof genotypeToJson>;
  network: { C: number; layers: number };
  dataInfo: DataInfo;
}

/** A trained network as read from a file, before anything is put on a backend. */
export interface SavedNetwork {
  genotype: Genotype;
  size: { C: number; layers: number };
  dataInfo: DataInfo;
  tensors: Map<string, Float32Array>;
}

/** The network a genotype builds at C and layers, for the record's images and classes, holding `tensors`; in eval mode. */
export function trainedModel(backend: Backend, { genotype, size, dataInfo, tensors }: SavedNetwork, source: string): TrainedModel {
  const config: EvalNetworkConfig = { ...size, classes: dataInfo.classes.length, inputChannels: dataInfo.channels, auxiliary: false, auxiliaryScaled: false };
  const net = new EvalNetwork(backend, config, genotype, new Rng(0));
  try {
    loadModuleTensors(net, tensors, source);
  } catch (e) {
    net.release();
    throw e;
  }
  net.setTraining(false);
  return { net, genotype, dataInfo };
}

export async function encodeModelFile({ net, genotype, dataInfo }: TrainedModel): Promise<Uint8Array> {
  const state: SavedModel = { format: MODEL_FILE_FORMAT, genotype: genotypeToJson(genotype), network: { C: net.config.C, layers: net.config.layers }, dataInfo };
  return encodeCheckpoint(state, await moduleTensors(net));
}

export function decodeModelFile(backend: Backend, bytes: Uint8Array, source: string): TrainedModel {
  return trainedModel(backend, readModelFile(bytes, source), source);
}

/** Checks and reads a model file without a backend, so a bad one fails before any GPU work. */
export function readModelFile(bytes: Uint8Array, source: string): SavedNetwork {
  const { state, tensors } = decodeCheckpoint<SavedModel>(bytes, source);
  if (state.format !== MODEL_FILE_FORMAT) {
    throw new CheckpointError(`${source}: not a model file (format ${state.format}); sgas export --format sgas --checkpoint <a training checkpoint> writes one`);
  }
  const { C, layers } = state.network ?? {};
  if (![C, layers].every((v) => Number.isInteger(v) && v! > 0)) throw new CheckpointError(`${source}: network size missing`);
  let genotype: Genotype;
  try {
    genotype = parseGenotype(JSON.stringify(state.genotype));
  } catch (e) {
    throw new CheckpointError(`${source}: ${(e as Error).message}`);
  }
  const problem = dataInfoProblem(state.dataInfo);
  if (problem) throw new CheckpointError(`${source}: its data record ${problem}; export the model again with sgas export`);
  return { genotype, size: { C: C!, layers: layers! }, dataInfo: state.dataInfo, tensors };
}

export async function moduleTensors(m: Module): Promise<Map<string, Float32Array>> {
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of [...m.namedParameters(), ...m.namedBuffers()]) tensors.set(name, await t.read());
  return tensors;
}

/** Writes every tensor of `m` from `tensors` by name; extra entries (optimizer state, another head) are ignored. */
export function loadModuleTensors(m: Module, tensors: Map<string, Float32Array>, source: string): void {
  for (const [name, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const values = tensors.get(name);
    if (!values || values.length !== t.size) throw new CheckpointError(`${source}: tensor '${name}' is missing or has the wrong size`);
    t.write(values);
  }
}
