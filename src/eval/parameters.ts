// Parameter counts of a genotype's evaluation network, counted from the shapes of the network as it
// is built on a backend that holds no data, so no GPU is needed (sgas info, a search's report).
import { Rng } from '../../runtime/rng.ts';
import { ShapeOnlyBackend } from '../../runtime/shapeBackend.ts';
import type { DataInfo } from '../data/dataInfo.ts';
import type { Genotype } from '../search/genotype.ts';
import { DEFAULT_TRAIN_PRESET, trainPresetConfig, type TrainConfig } from './config.ts';
import { EvalNetwork, type EvalNetworkConfig } from './model.ts';

/** The network without the auxiliary head (as papers count it), and the head alone. */
export function countParameters(genotype: Genotype, config: EvalNetworkConfig): { network: number; auxiliary: number } {
  const net = new EvalNetwork(new ShapeOnlyBackend(), config, genotype, new Rng(0));
  return net.parameterCounts();
}

/** The weights a cell trains with under a training preset, for the images a search ran on. */
export interface TrainParameters {
  preset: string;
  initChannels: number;
  layers: number;
  /** The evaluation network's weights, auxiliary head excluded. */
  count: number;
}

/**
 * What a found cell weighs once trained by `preset` (default: the one `sgas train` uses) with
 * `overrides` over it: a larger cell trains to a higher accuracy for reasons that have nothing to
 * do with the search, so its accuracy is read beside this.
 */
export function trainParameters(genotype: Genotype, dataInfo: DataInfo, preset = DEFAULT_TRAIN_PRESET, overrides: Partial<TrainConfig> = {}): TrainParameters {
  const { initChannels, layers } = { ...trainPresetConfig(preset), ...overrides };
  const config: EvalNetworkConfig = {
    C: initChannels, layers, classes: dataInfo.classes.length, inputChannels: dataInfo.channels, auxiliary: false, auxiliaryScaled: true,
  };
  return { preset, initChannels, layers, count: countParameters(genotype, config).network };
}
