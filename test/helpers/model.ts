// A small network as a .sgas model file, with its initial (random) weights: what the inference tests
// load, without training one first.
import type { Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { EvalNetwork } from '../../src/eval/model.ts';
import type { ModelDataInfo } from '../../src/eval/modelData.ts';
import { encodeModelFile } from '../../src/eval/modelFile.ts';
import { genotypeByName } from '../../src/search/genotypes.ts';

export const FASHION: ModelDataInfo = {
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  channels: 1, height: 28, width: 28, mean: [0.286], std: [0.353],
};

export const RGB32: ModelDataInfo = {
  classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  channels: 3, height: 32, width: 32, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26],
};

export async function modelFile(backend: Backend, data: ModelDataInfo, seed = 1): Promise<Uint8Array> {
  const genotype = genotypeByName('Cri1_CIFAR_Best');
  const config = { C: 4, layers: 3, classes: data.classes.length, inputChannels: data.channels, auxiliary: false };
  const net = new EvalNetwork(backend, config, genotype, new Rng(seed));
  try {
    net.setTraining(false);
    return await encodeModelFile({ net, genotype, data });
  } finally {
    net.release();
  }
}
