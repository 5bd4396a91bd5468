// Published genotypes: the SGAS CIFAR-10 search results, copied from lightaime/sgas cnn/genotypes.py
// (SGAS.md §3.1; runs numbered by search validation error, lowest first), and the DARTS-family
// baselines as their authors' repositories publish them.

import { genotypeFromGenes, type Genotype } from './genotype.ts';

const GENOTYPES = {
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
  // DARTS (Liu et al., ICLR 2019; quark0/darts cnn/genotypes.py): V1 from the first-order search, V2
  // from the second-order one; the paper reports 3.3M parameters for both on CIFAR-10. PC-DARTS (Xu et
  // al., ICLR 2020; yuhuixu1993/PC-DARTS genotypes.py, PC_DARTS_cifar): 3.6M. P-DARTS (Chen et al.,
  // ICCV 2019; chenxin061/pdarts genotypes.py): 3.4M. All at C=36, 20 cells, auxiliary head excluded.
  DARTS_V1: genotypeFromGenes(
    [['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['skip_connect', 2]],
    [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 0], ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['avg_pool_3x3', 0]],
  ),
  DARTS_V2: genotypeFromGenes(
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]],
    [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]],
  ),
  PC_DARTS_cifar: genotypeFromGenes(
    [['sep_conv_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['sep_conv_5x5', 0], ['sep_conv_3x3', 1], ['avg_pool_3x3', 0], ['dil_conv_3x3', 1]],
    [['sep_conv_5x5', 1], ['max_pool_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_5x5', 2], ['sep_conv_3x3', 0], ['sep_conv_3x3', 3], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2]],
  ),
  PDARTS: genotypeFromGenes(
    [['skip_connect', 0], ['dil_conv_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1], ['sep_conv_3x3', 3], ['sep_conv_3x3', 0], ['dil_conv_5x5', 4]],
    [['avg_pool_3x3', 0], ['sep_conv_5x5', 1], ['sep_conv_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['dil_conv_3x3', 1], ['dil_conv_3x3', 1], ['dil_conv_5x5', 3]],
  ),
} satisfies Record<string, Genotype>;

/** Every published genotype by its genotypes.py name, aliases included. */
export const PUBLISHED_GENOTYPES: Readonly<Record<string, Genotype>> = {
  ...GENOTYPES,
  Cri1_CIFAR_Best: GENOTYPES.Cri1_CIFAR_3,
  Cri2_CIFAR_Best: GENOTYPES.Cri2_CIFAR_3,
  // The ImageNet experiments transferred CIFAR cells.
  Cri1_ImageNet_1: GENOTYPES.Cri1_CIFAR_1,
  Cri1_ImageNet_2: GENOTYPES.Cri1_CIFAR_2,
  Cri1_ImageNet_3: GENOTYPES.Cri1_CIFAR_3,
  Cri1_ImageNet_Best: GENOTYPES.Cri1_CIFAR_3,
  Cri2_ImageNet_1: GENOTYPES.Cri2_CIFAR_3,
  Cri2_ImageNet_2: GENOTYPES.Cri2_CIFAR_4,
  Cri2_ImageNet_3: GENOTYPES.Cri2_CIFAR_5,
  Cri2_ImageNet_Best: GENOTYPES.Cri2_CIFAR_4,
  // The repositories' own aliases.
  DARTS: GENOTYPES.DARTS_V2,
  PCDARTS: GENOTYPES.PC_DARTS_cifar,
};

export function genotypeByName(name: string): Genotype {
  const genotype = Object.hasOwn(PUBLISHED_GENOTYPES, name) ? PUBLISHED_GENOTYPES[name] : undefined;
  if (!genotype) {
    throw new Error(`unknown genotype '${name}'; known: ${Object.keys(PUBLISHED_GENOTYPES).join(', ')}`);
  }
  return genotype;
}
