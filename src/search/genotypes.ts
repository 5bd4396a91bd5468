// Published SGAS CIFAR-10 search results, copied from lightaime/sgas cnn/genotypes.py
// (SGAS.md §3.1). Runs are numbered by search validation error, lowest first.

import { genotypeFromGenes, type Genotype } from './genotype.ts';

const RUNS = {
  Cri1_CIFAR_1: genotypeFromGenes(
    [['skip_connect', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2], ['dil_conv_5x5', 2], ['dil_conv_3x3', 3]],
    [['max_pool_3x3', 0], ['dil_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 1], ['skip_connect', 2], ['skip_connect', 2], ['skip_connect', 3]],
  ),
  Cri1_CIFAR_2: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['skip_connect', 0], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2], ['sep_conv_3x3', 2], ['sep_conv_5x5', 4]],
    [['avg_pool_3x3', 0], ['sep_conv_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 1], ['dil_conv_5x5', 3]],
  ),
  Cri1_CIFAR_3: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_5x5', 1], ['sep_conv_5x5', 3], ['skip_connect', 0], ['dil_conv_5x5', 2]],
    [['max_pool_3x3', 0], ['dil_conv_5x5', 1], ['sep_conv_3x3', 0], ['skip_connect', 2], ['sep_conv_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 0], ['max_pool_3x3', 1]],
  ),
  Cri1_CIFAR_4: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 2], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2], ['dil_conv_3x3', 2], ['dil_conv_5x5', 4]],
    [['avg_pool_3x3', 0], ['sep_conv_5x5', 1], ['avg_pool_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['skip_connect', 2]],
  ),
  Cri1_CIFAR_5: genotypeFromGenes(
    [['dil_conv_5x5', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 2], ['dil_conv_5x5', 2], ['sep_conv_5x5', 3]],
    [['max_pool_3x3', 0], ['sep_conv_5x5', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['sep_conv_3x3', 2], ['sep_conv_5x5', 3], ['avg_pool_3x3', 0], ['skip_connect', 2]],
  ),
  Cri1_CIFAR_6: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['dil_conv_3x3', 1], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 2], ['skip_connect', 1], ['sep_conv_3x3', 2]],
    [['avg_pool_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 1], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['dil_conv_3x3', 3], ['skip_connect', 2], ['dil_conv_5x5', 3]],
  ),
  Cri1_CIFAR_7: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['skip_connect', 0], ['sep_conv_5x5', 2], ['sep_conv_3x3', 2], ['dil_conv_5x5', 3], ['sep_conv_3x3', 0], ['dil_conv_3x3', 2]],
    [['dil_conv_3x3', 0], ['avg_pool_3x3', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 1], ['dil_conv_5x5', 3], ['avg_pool_3x3', 0], ['sep_conv_5x5', 2]],
  ),
  Cri1_CIFAR_8: genotypeFromGenes(
    [['sep_conv_5x5', 0], ['sep_conv_3x3', 1], ['dil_conv_3x3', 1], ['dil_conv_3x3', 2], ['skip_connect', 0], ['sep_conv_3x3', 1], ['dil_conv_5x5', 1], ['sep_conv_3x3', 2]],
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['sep_conv_5x5', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 3]],
  ),
  Cri1_CIFAR_9: genotypeFromGenes(
    [['sep_conv_5x5', 0], ['sep_conv_5x5', 1], ['sep_conv_3x3', 1], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 3], ['sep_conv_3x3', 1], ['dil_conv_3x3', 3]],
    [['avg_pool_3x3', 0], ['sep_conv_3x3', 1], ['max_pool_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 1], ['skip_connect', 2]],
  ),
  Cri1_CIFAR_10: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['dil_conv_5x5', 1], ['sep_conv_3x3', 0], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['dil_conv_3x3', 3], ['dil_conv_3x3', 2], ['dil_conv_3x3', 4]],
    [['max_pool_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2]],
  ),
  Cri2_CIFAR_1: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_5x5', 0], ['sep_conv_5x5', 1], ['skip_connect', 0], ['sep_conv_5x5', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 2]],
    [['max_pool_3x3', 0], ['sep_conv_5x5', 1], ['max_pool_3x3', 1], ['sep_conv_3x3', 2], ['max_pool_3x3', 0], ['sep_conv_3x3', 3], ['sep_conv_3x3', 0], ['dil_conv_5x5', 2]],
  ),
  Cri2_CIFAR_2: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 2], ['sep_conv_5x5', 1], ['sep_conv_3x3', 2], ['dil_conv_5x5', 1], ['sep_conv_3x3', 2]],
    [['avg_pool_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 0], ['dil_conv_5x5', 2], ['avg_pool_3x3', 0], ['max_pool_3x3', 1]],
  ),
  Cri2_CIFAR_3: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 0], ['sep_conv_3x3', 3], ['sep_conv_3x3', 2], ['sep_conv_3x3', 3]],
    [['sep_conv_3x3', 0], ['max_pool_3x3', 1], ['dil_conv_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 2]],
  ),
  Cri2_CIFAR_4: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['dil_conv_5x5', 0], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 3]],
    [['sep_conv_5x5', 0], ['dil_conv_3x3', 1], ['max_pool_3x3', 0], ['max_pool_3x3', 1], ['dil_conv_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['avg_pool_3x3', 1]],
  ),
  Cri2_CIFAR_5: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['skip_connect', 0], ['sep_conv_5x5', 1], ['dil_conv_3x3', 1], ['dil_conv_3x3', 2], ['sep_conv_3x3', 2], ['dil_conv_5x5', 3]],
    [['sep_conv_5x5', 0], ['skip_connect', 1], ['max_pool_3x3', 1], ['sep_conv_5x5', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 3], ['max_pool_3x3', 0], ['skip_connect', 2]],
  ),
  Cri2_CIFAR_6: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['dil_conv_5x5', 2], ['sep_conv_3x3', 1], ['sep_conv_3x3', 3], ['dil_conv_5x5', 2], ['dil_conv_3x3', 3]],
    [['sep_conv_5x5', 0], ['sep_conv_5x5', 1], ['max_pool_3x3', 0], ['max_pool_3x3', 1], ['avg_pool_3x3', 0], ['sep_conv_5x5', 3], ['max_pool_3x3', 0], ['skip_connect', 2]],
  ),
  Cri2_CIFAR_7: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 1], ['dil_conv_3x3', 2], ['sep_conv_5x5', 1], ['dil_conv_5x5', 3]],
    [['max_pool_3x3', 0], ['avg_pool_3x3', 1], ['max_pool_3x3', 1], ['dil_conv_5x5', 2], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 0], ['sep_conv_3x3', 2]],
  ),
  Cri2_CIFAR_8: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_5x5', 1], ['sep_conv_5x5', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 3]],
    [['avg_pool_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 1], ['skip_connect', 2]],
  ),
  Cri2_CIFAR_9: genotypeFromGenes(
    [['max_pool_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_5x5', 0], ['sep_conv_5x5', 1], ['dil_conv_3x3', 1], ['dil_conv_3x3', 3], ['sep_conv_3x3', 1], ['dil_conv_3x3', 3]],
    [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['max_pool_3x3', 0], ['dil_conv_5x5', 2], ['dil_conv_5x5', 2], ['sep_conv_3x3', 3], ['avg_pool_3x3', 0], ['max_pool_3x3', 1]],
  ),
  Cri2_CIFAR_10: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_5x5', 1], ['dil_conv_5x5', 2], ['sep_conv_3x3', 2], ['dil_conv_5x5', 3], ['max_pool_3x3', 0], ['dil_conv_3x3', 3]],
    [['avg_pool_3x3', 0], ['skip_connect', 1], ['sep_conv_5x5', 0], ['skip_connect', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 2], ['max_pool_3x3', 1], ['dil_conv_3x3', 2]],
  ),
} satisfies Record<string, Genotype>;

/** Every published genotype by its genotypes.py name, aliases included. */
export const PUBLISHED_GENOTYPES: Readonly<Record<string, Genotype>> = {
  ...RUNS,
  Cri1_CIFAR_Best: RUNS.Cri1_CIFAR_3,
  Cri2_CIFAR_Best: RUNS.Cri2_CIFAR_3,
  // The ImageNet experiments transferred CIFAR cells.
  Cri1_ImageNet_1: RUNS.Cri1_CIFAR_1,
  Cri1_ImageNet_2: RUNS.Cri1_CIFAR_2,
  Cri1_ImageNet_3: RUNS.Cri1_CIFAR_3,
  Cri1_ImageNet_Best: RUNS.Cri1_CIFAR_3,
  Cri2_ImageNet_1: RUNS.Cri2_CIFAR_3,
  Cri2_ImageNet_2: RUNS.Cri2_CIFAR_4,
  Cri2_ImageNet_3: RUNS.Cri2_CIFAR_5,
  Cri2_ImageNet_Best: RUNS.Cri2_CIFAR_4,
};

export function genotypeByName(name: string): Genotype {
  const genotype = Object.hasOwn(PUBLISHED_GENOTYPES, name) ? PUBLISHED_GENOTYPES[name] : undefined;
  if (!genotype) {
    throw new Error(`unknown genotype '${name}'; known: ${Object.keys(PUBLISHED_GENOTYPES).join(', ')}`);
  }
  return genotype;
}
