// A small network as a .sgas model file, with its initial (random) weights: what the inference tests
// load, without training one first.
import type { Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { CIFAR10_CLASSES } from '../../src/data/cifar.ts';
import type { DataInfo } from '../../src/data/dataInfo.ts';
import { CIFAR10_STATS, FASHION_MNIST_STATS } from '../../src/data/dataset.ts';
import { FASHION_MNIST_CLASSES } from '../../src/data/idx.ts';
import { EvalNetwork } from '../../src/eval/model.ts';
import { encodeModelFile } from '../../src/eval/modelFile.ts';
import { genotypeByName } from '../../src/search/genotypes.ts';

/** The embedded Fashion-MNIST's record: 1 channel, 28×28, resized (where it is) bilinear. */
export const FASHION: DataInfo = {
  classes: FASHION_MNIST_CLASSES, channels: 1, imageSize: [28, 28],
  mean: [...FASHION_MNIST_STATS.mean], std: [...FASHION_MNIST_STATS.std], resize: 'bilinear', split: null,
};

/** An image folder's record at 3×32×32, resized with the area filter. */
export const RGB32: DataInfo = {
  classes: CIFAR10_CLASSES, channels: 3, imageSize: [32, 32],
  mean: [...CIFAR10_STATS.mean], std: [...CIFAR10_STATS.std], resize: 'area', split: { testPortion: 0.2, seed: 0 },
};

export async function modelFile(backend: Backend, dataInfo: DataInfo, seed = 1): Promise<Uint8Array> {
  const genotype = genotypeByName('Cri1_CIFAR_Best');
  const config = { C: 4, layers: 3, classes: dataInfo.classes.length, inputChannels: dataInfo.channels, auxiliary: false, auxiliaryScaled: false };
  const net = new EvalNetwork(backend, config, genotype, new Rng(seed));
  try {
    net.setTraining(false);
    return await encodeModelFile({ net, genotype, dataInfo });
  } finally {
    net.release();
  }
}
