import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  genotypeFromGenes,
  genotypeToJson,
  genotypeToPython,
  parseGene,
  parseGeneForce,
  parseGenotype,
  type Genotype,
} from '../src/search/genotype.ts';
import { PUBLISHED_GENOTYPES, genotypeByName } from '../src/search/genotypes.ts';

// Cri1_CIFAR_3 exactly as it stands in lightaime/sgas cnn/genotypes.py.
const CRI1_CIFAR_3_PY =
  "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
  "('sep_conv_5x5', 1), ('sep_conv_5x5', 3), ('skip_connect', 0), ('dil_conv_5x5', 2)], normal_concat=range(2, 6), " +
  "reduce=[('max_pool_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 1), " +
  "('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))";

test('genotypeToPython writes the genotypes.py literal and parseGenotype reads it back', () => {
  const g = genotypeByName('Cri1_CIFAR_3');
  assert.equal(genotypeToPython(g), CRI1_CIFAR_3_PY);
  assert.deepEqual(parseGenotype(CRI1_CIFAR_3_PY), g);
  for (const [name, genotype] of Object.entries(PUBLISHED_GENOTYPES)) {
    assert.deepEqual(parseGenotype(genotypeToPython(genotype)), genotype, name);
  }
});

test('parseGenotype accepts concat lists, multi-line DARTS layout and JSON forms', () => {
  const g = genotypeByName('Cri2_CIFAR_4');
  const withLists = genotypeToPython(g).replaceAll('range(2, 6)', '[2, 3, 4, 5]');
  assert.deepEqual(parseGenotype(withLists), g);
  const multiLine = withLists.replace('Genotype(', 'genotypes.Genotype(\n  ').replaceAll('), (', '),\n    (') + '\n';
  assert.deepEqual(parseGenotype(multiLine), g);

  const json = JSON.stringify(genotypeToJson(g));
  assert.deepEqual(parseGenotype(json), g);
  assert.deepEqual(parseGenotype(JSON.stringify({ genotype: genotypeToJson(g), epoch: 49 })), g);
  assert.deepEqual(parseGenotype(JSON.stringify({ genotype: genotypeToPython(g) })), g);
  assert.deepEqual(parseGenotype(JSON.stringify({ normal: g.normal, reduce: g.reduce })), g);
});

test('parseGenotype rejects malformed genotypes with a one-line message naming the problem', () => {
  const good = genotypeToPython(genotypeByName('Cri1_CIFAR_3'));
  const cases: [string, string, RegExp][] = [
    ['unknown op', good.replace("('dil_conv_3x3', 1)", "('sep_conv_7x7', 1)"), /normal edge 1 \(node 0\).*unknown op 'sep_conv_7x7'/],
    ["'none'", good.replace("('skip_connect', 2)", "('none', 2)"), /reduce edge 3 \(node 1\).*'none' is not allowed/],
    ['too few edges', good.replace("('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ", ''), /normal: has 6 edges, expected 8 \(2 per node/],
    [
      'too many edges',
      good.replace("('max_pool_3x3', 1)]", "('max_pool_3x3', 1), ('skip_connect', 0)]"),
      /reduce: has 9 edges, expected 8/,
    ],
    ['input out of range', good.replace("('dil_conv_3x3', 1)", "('dil_conv_3x3', 2)"), /normal edge 1 \(node 0\): input index 2 out of range \(node 0 may use 0\.\.1\)/],
    ['negative input', good.replace("('sep_conv_5x5', 3)", "('sep_conv_5x5', -1)"), /normal edge 5 \(node 2\): input index -1 out of range/],
    ['bad concat', good.replace('normal_concat=range(2, 6)', 'normal_concat=[2, 3, 4]'), /normal_concat: must be range\(2, 6\)/],
    ['missing field', good.replace(', reduce_concat=range(2, 6)', ''), /missing field 'reduce_concat'/],
    ['unknown field', good.replace('Genotype(', 'Genotype(cells=[], '), /unknown field 'cells'/],
    ['not a Genotype call', 'Foo(normal=[])', /expected 'Genotype\('/],
    ['truncated text', good.slice(0, 60), /text ended/],
    ['garbage character', good.replace('normal_concat=', 'normal_concat=@'), /unexpected character '@'/],
    ['bad JSON', '{"normal": [', /invalid JSON/],
    ['JSON pair not a pair', JSON.stringify({ normal: ['sep_conv_3x3', 0], reduce: [] }), /normal: has 2 edges/],
    [
      'JSON op not a string',
      JSON.stringify({ ...genotypeToJson(genotypeByName('Cri1_CIFAR_3')), reduce: new Array(8).fill([4, 0]) }),
      /reduce edge 0 \(node 0\): op must be a string/,
    ],
  ];
  for (const [what, text, pattern] of cases) {
    assert.throws(
      () => parseGenotype(text),
      (err: Error) => {
        assert.match(err.message, pattern, what);
        assert.ok(!err.message.includes('\n'), `${what}: message is one line`);
        return true;
      },
      what,
    );
  }
});

test('published genotypes: the 20 CIFAR runs, aliases, and the literals quoted in SGAS.md', () => {
  const runs = Object.keys(PUBLISHED_GENOTYPES).filter((n) => /^Cri[12]_CIFAR_\d+$/.test(n));
  assert.equal(runs.length, 20);
  for (const [name, g] of Object.entries(PUBLISHED_GENOTYPES)) {
    assert.doesNotThrow(() => parseGenotype(JSON.stringify(genotypeToJson(g))), name);
  }
  assert.equal(genotypeByName('Cri1_CIFAR_Best'), genotypeByName('Cri1_CIFAR_3'));
  assert.equal(genotypeByName('Cri2_CIFAR_Best'), genotypeByName('Cri2_CIFAR_3'));
  assert.equal(genotypeByName('Cri1_ImageNet_Best'), genotypeByName('Cri1_CIFAR_3'));
  assert.equal(genotypeByName('Cri2_ImageNet_Best'), genotypeByName('Cri2_CIFAR_4'));

  const expected: Record<string, Pick<Genotype, 'normal' | 'reduce'>> = {
    Cri2_CIFAR_3: {
      normal: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 0], ['sep_conv_3x3', 3], ['sep_conv_3x3', 2], ['sep_conv_3x3', 3]],
      reduce: [['sep_conv_3x3', 0], ['max_pool_3x3', 1], ['dil_conv_3x3', 0], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2], ['max_pool_3x3', 0], ['sep_conv_5x5', 2]],
    },
    Cri2_CIFAR_4: {
      normal: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['dil_conv_5x5', 0], ['dil_conv_3x3', 2], ['sep_conv_3x3', 1], ['dil_conv_5x5', 3]],
      reduce: [['sep_conv_5x5', 0], ['dil_conv_3x3', 1], ['max_pool_3x3', 0], ['max_pool_3x3', 1], ['dil_conv_3x3', 0], ['dil_conv_5x5', 2], ['max_pool_3x3', 0], ['avg_pool_3x3', 1]],
    },
  };
  for (const [name, cells] of Object.entries(expected)) {
    assert.deepEqual(genotypeByName(name), genotypeFromGenes(cells.normal, cells.reduce), name);
  }
});

test('genotypeByName lists the known names for an unknown one', () => {
  assert.throws(() => genotypeByName('ENAS'), /unknown genotype 'ENAS'; known: .*Cri1_CIFAR_1,.*DARTS_V2,.*Cri2_ImageNet_Best/);
  assert.throws(() => genotypeByName('toString'), /unknown genotype/);
});

test('parseGene: decided edges in order, pruned skipped, undecided named', () => {
  //            node0   node1      node2         node3
  const idxs = [4, 6, 4, 4, 0, 5, 0, 0, 5, 3, 0, 7, 0, 0];
  assert.deepEqual(parseGene(idxs, 'normal'), [
    ['sep_conv_3x3', 0], ['dil_conv_3x3', 1],
    ['sep_conv_3x3', 0], ['sep_conv_3x3', 1],
    ['sep_conv_5x5', 0], ['sep_conv_5x5', 3],
    ['skip_connect', 0], ['dil_conv_5x5', 2],
  ]);
  const undecided = [...idxs];
  undecided[6] = -1;
  assert.throws(() => parseGene(undecided, 'reduce'), /reduce edge 6 \(node 2, input 1\) is still undecided/);
});

test('parseGeneForce: fills each node with its most important candidates', () => {
  const flat = new Array(8).fill(0);
  const alphas = Array.from({ length: 14 }, () => [...flat]);
  // node0: edge 0 decided as sep_conv_3x3, edge 1 candidate whose best non-none op is avg_pool.
  alphas[1] = [0, 0, 2, 0, 0, 0, 0, 0];
  // node1: nothing decided; edge 4 is the most important (low 'none'), then edge 2 (first on tie with 3).
  alphas[4] = [-3, 0, 0, 0, 0, 0, 1, 0];
  // node2: two decided edges, the rest pruned; node3: one decided, one of four candidates to pick.
  alphas[12] = [-1, 0, 0, 0, 0, 0, 0, 3];
  const flags = [false, true, true, true, true, false, false, false, false, false, true, true, true, true];
  const idxs = [4, -1, -1, -1, -1, 5, 0, 0, 3, 2, -1, -1, -1, -1];
  assert.deepEqual(parseGeneForce(idxs, flags, alphas), [
    ['sep_conv_3x3', 0], ['avg_pool_3x3', 1],
    ['max_pool_3x3', 0], ['dil_conv_3x3', 2],
    ['sep_conv_5x5', 0], ['skip_connect', 3],
    ['avg_pool_3x3', 0], ['dil_conv_5x5', 3],
  ]);
});
