// A cell drawn uniformly from the search space, the baseline a search must beat (Li & Talwalkar,
// "Random search and reproducibility for NAS", 2019): each node takes two distinct earlier states,
// each through an op drawn from the seven that are not 'none', as a finished search's cells do.
import { Rng } from '../../runtime/rng.ts';
import { genotypeFromGenes, type Gene, type Genotype } from './genotype.ts';
import { PRIMITIVES, STEPS } from './space.ts';

const OPS = PRIMITIVES.filter((op) => op !== 'none');

function randomGene(rng: Rng): Gene {
  const gene: Gene = [];
  for (let node = 0; node < STEPS; node++) {
    // Inputs in increasing order, as parse_gene lists a node's edges.
    const inputs = Array.from(rng.permutation(node + 2).subarray(0, 2)).sort((a, b) => a - b);
    for (const input of inputs) gene.push([OPS[rng.int(OPS.length)]!, input]);
  }
  return gene;
}

/** The random cell pair of one seed: the same seed, the same genotype. */
export function randomGenotype(seed: number): Genotype {
  const rng = new Rng(seed);
  const normal = randomGene(rng);
  return genotypeFromGenes(normal, randomGene(rng));
}
