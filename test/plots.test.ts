import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DECISION_CONFIG, decideEdge, initialDecisionState } from '../src/search/edgeDecision.ts';
import { genotypeByName, PUBLISHED_GENOTYPES } from '../src/search/genotypes.ts';
import {
  alphaHeatmapSvg,
  alphaTrajectorySvg,
  cellSvg,
  cellSvgFromSelection,
  curvesSvg,
  edgeLabel,
  scoreHeatmapSvg,
} from '../src/search/plots.ts';
import type { CellEpochRecord, EpochRecord } from '../src/search/search.ts';
import { NUM_EDGES, NUM_OPS, PRIMITIVES, type CellType } from '../src/search/space.ts';

/**
 * Well-formed XML as far as these plots go: one <svg> root, every tag closed in order, quoted
 * attributes, no raw '<' or bare '&' in text. Returns the tag names in document order.
 */
function checkXml(svg: string): string[] {
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  const names: string[] = [];
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const textEnd = lt < 0 ? svg.length : lt;
    const content = svg.slice(i, textEnd);
    assert.doesNotMatch(content, /&(?!(amp|lt|gt|quot|apos);)/, `bare & in ${JSON.stringify(content)}`);
    assert.ok(!content.includes('>'), `stray > in ${JSON.stringify(content)}`);
    if (lt < 0) break;
    assert.ok(lt === 0 || stack.length > 0, 'text outside the root element');
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    assert.ok(m, `malformed tag at ${JSON.stringify(svg.slice(lt, lt + 60))}`);
    const [whole, closing, name, , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else {
      if (stack.length === 0) assert.equal(names.length, 0, 'more than one root element');
      names.push(name!);
      if (!selfClosing) stack.push(name!);
    }
    i = lt + whole.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(names[0], 'svg');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 [\d.]+ [\d.]+" width="[\d.]+" height="[\d.]+"/);
  return names;
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

/** Records of a fake search: alphas drifting towards one op per edge, decided like SGAS Cri.1. */
function fakeRecords(epochs: number): EpochRecord[] {
  const records: EpochRecord[] = [];
  const states: Record<CellType, ReturnType<typeof initialDecisionState>> = { normal: initialDecisionState(), reduce: initialDecisionState() };
  for (let epoch = 0; epoch < epochs; epoch++) {
    const cells = {} as Record<CellType, CellEpochRecord>;
    for (const type of ['normal', 'reduce'] as const) {
      const alphas = Array.from({ length: NUM_EDGES }, (_, e) =>
        Array.from({ length: NUM_OPS }, (_, k) => 1e-3 * Math.sin(e * 7 + k * 3) + (k === 1 + ((e * 5) % 7) ? 0.03 * epoch * (1 + e / 10) : 0)),
      );
      const d = decideEdge(states[type], alphas, epoch, { ...DEFAULT_DECISION_CONFIG, warmupDecEpoch: 4, decisionFreq: 2 });
      states[type] = d.state;
      cells[type] = {
        alphas: d.stats.softmax, importance: d.stats.importance, certainty: d.stats.certainty, stability: [], score: d.stats.score,
        decided: d.isDecision ? { edge: d.selectedEdge!, op: PRIMITIVES[d.selectedOp!]! } : null,
        selectedIdxs: [...d.state.selectedIdxs], candidateFlags: [...d.state.candidateFlags],
      };
    }
    records.push({
      epoch, epochs, lr: 0.025, batchSize: 64, trainLoss: 2.3 / (1 + epoch / 5), trainAccuracy: epoch / epochs,
      validLoss: 2.3 / (1 + epoch / 6), validAccuracy: epoch / (epochs + 3), seconds: 10, recomputeCells: false, cells, genotype: genotypeByName('Cri1_CIFAR_3'),
    });
  }
  return records;
}

const records = fakeRecords(12);
const last = records[records.length - 1]!.cells.normal;

test('edgeLabel names the node and the state each edge reads', () => {
  assert.deepEqual([0, 1, 2, 4, 5, 13].map(edgeLabel), ['n0←c_{k-2}', 'n0←c_{k-1}', 'n1←c_{k-2}', 'n1←n0', 'n2←c_{k-2}', 'n3←n2']);
});

test('alphaHeatmapSvg draws 14×8 cells with op names, edge labels and values', () => {
  const svg = alphaHeatmapSvg(last.alphas, 'normal cell, epoch 11');
  checkXml(svg);
  assert.equal(count(svg, /<rect class="cell"/g), NUM_EDGES * NUM_OPS);
  for (const op of PRIMITIVES) assert.ok(svg.includes(`>${op}</text>`), op);
  for (let e = 0; e < NUM_EDGES; e++) assert.ok(svg.includes(`>${edgeLabel(e)}</text>`), edgeLabel(e));
  assert.ok(svg.includes(`>${last.alphas[0]![0]!.toFixed(3)}</text>`));
  assert.ok(svg.includes('softmax(α)'), 'colour legend');
  assert.equal(count(svg, /class="chosen"/g), 0);
});

test('alphaHeatmapSvg outlines the chosen op of decided edges and greys pruned ones', () => {
  const selected = last.selectedIdxs;
  const decided = selected.filter((s) => s > 0).length;
  assert.ok(decided > 0 && selected.includes(0), 'the fixture has decided and pruned edges');
  const svg = alphaHeatmapSvg(last.alphas, 'normal', selected);
  checkXml(svg);
  assert.equal(count(svg, /class="chosen"/g), decided);
  assert.equal(count(svg, />pruned</g), selected.filter((s) => s === 0).length);
  const e = selected.findIndex((s) => s > 0);
  assert.ok(svg.includes(`>→ ${PRIMITIVES[selected[e]!]}</text>`));
});

test('scoreHeatmapSvg draws epochs × edges and outlines each decision', () => {
  const svg = scoreHeatmapSvg(records, 'normal');
  checkXml(svg);
  assert.equal(count(svg, /<rect class="cell"/g), records.length * NUM_EDGES);
  const decisions = records.filter((r) => r.cells.normal.decided);
  assert.ok(decisions.length > 0);
  assert.equal(count(svg, /class="decision"/g), decisions.length);
  const d = decisions[0]!;
  assert.ok(svg.includes(`epoch ${d.epoch + 1}: ${edgeLabel(d.cells.normal.decided!.edge)} → ${d.cells.normal.decided!.op}`));
  assert.ok(svg.includes('normal cell'));
});

test('alphaTrajectorySvg draws one panel per edge with a line per op and an op legend', () => {
  const svg = alphaTrajectorySvg(records, 'reduce');
  checkXml(svg);
  assert.equal(count(svg, /<path d="M/g), NUM_EDGES * NUM_OPS);
  for (const op of PRIMITIVES) assert.ok(svg.includes(`>${op}</text>`), op);
  for (let e = 0; e < NUM_EDGES; e++) assert.ok(svg.includes(`>${edgeLabel(e)}`), edgeLabel(e));
  // One epoch: dots instead of lines.
  const one = alphaTrajectorySvg(records.slice(0, 1), 'reduce');
  checkXml(one);
  assert.equal(count(one, /<circle/g), NUM_EDGES * NUM_OPS);
});

test('record plots say so when there are no epochs yet', () => {
  for (const svg of [scoreHeatmapSvg([], 'normal'), alphaTrajectorySvg([], 'reduce')]) {
    checkXml(svg);
    assert.ok(svg.includes('no epochs recorded yet'));
  }
});

test('cellSvg draws a genotype cell: inputs, nodes, output and 8 labelled edges', () => {
  const gene = genotypeByName('Cri1_CIFAR_3').normal;
  const svg = cellSvg(gene, 'Cri1_CIFAR_3 normal');
  checkXml(svg);
  for (const name of ['c_{k-2}', 'c_{k-1}', 'n0', 'n1', 'n2', 'n3', 'c_{k}', 'Cri1_CIFAR_3 normal']) assert.ok(svg.includes(`>${name}</text>`), name);
  for (const [op] of gene) assert.ok(svg.includes(`>${op}</text>`), op);
  // 8 op edges plus one edge from each node into c_{k}.
  assert.equal(count(svg, /class="edge"/g), gene.length + 4);
  assert.equal(count(svg, /stroke-dasharray/g), 0);
});

test('cellSvgFromSelection draws decided edges with their op and candidates dashed', () => {
  const selected = last.selectedIdxs;
  const svg = cellSvgFromSelection(selected, 'normal, epoch 11');
  checkXml(svg);
  const decided = selected.filter((s) => s > 0);
  const candidates = selected.filter((s) => s === -1).length;
  assert.ok(candidates > 0);
  assert.equal(count(svg, /class="edge"/g), decided.length + candidates + 4);
  assert.equal(count(svg, /stroke-dasharray/g), candidates);
  for (const s of decided) assert.ok(svg.includes(`>${PRIMITIVES[s]}</text>`));
});

type Box = { x: number; y: number; width: number; height: number };

function rects(svg: string, attr: string): Box[] {
  return [...svg.matchAll(new RegExp(`<rect ${attr}[^>]*>`, 'g'))].map(([tag]) => {
    const v = (name: string) => Number(new RegExp(` ${name}="([\\d.-]+)"`).exec(tag)![1]);
    return { x: v('x'), y: v('y'), width: v('width'), height: v('height') };
  });
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('cell drawings put each op label on a halo above every edge, clear of the states and of each other, wide and upright', () => {
  const genes = Object.entries(PUBLISHED_GENOTYPES).flatMap(([name, g]) => [[`${name} normal`, g.normal], [`${name} reduce`, g.reduce]] as const);
  for (const layout of ['wide', 'tall'] as const) {
    for (const [name, gene] of genes) {
      const svg = cellSvg(gene, name, layout);
      checkXml(svg);
      const [width, height] = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg)!.slice(1).map(Number);
      const halos = rects(svg, 'class="label-halo"');
      const states = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="6"/g)]
        .map((m) => ({ x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) }));
      assert.equal(halos.length, gene.length, `${name} (${layout}): a halo per op label`);
      assert.equal(states.length, 7);
      for (const [i, a] of halos.entries()) {
        assert.ok(a.x >= 0 && a.y >= 0 && a.x + a.width <= width! && a.y + a.height <= height!, `${name} (${layout}): label ${i} inside the drawing`);
        for (const b of [...halos.slice(i + 1), ...states]) assert.ok(!overlaps(a, b), `${name} (${layout}): label ${i} collides`);
      }
      // Halos come after every edge, so no line crosses a label.
      assert.ok(svg.lastIndexOf('class="edge"') < svg.indexOf('class="label-halo"'));
    }
  }
});

test('curvesSvg keeps the x axis it is given, leaves empty series out of the legend and fits a narrow width', () => {
  const points = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i): [number, number] => [i + 1, f(i)]);
  const series = [{ name: 'train loss', points: points(3, (i) => 2 - i / 10) }, { name: 'train, this epoch', points: [] }];
  const svg = curvesSvg(series, 'loss', 'loss', 'epoch', { xDomain: [0, 9] });
  checkXml(svg);
  for (const tick of ['0', '2', '4', '6', '8']) assert.ok(svg.includes(`text-anchor="middle">${tick}</text>`), `tick ${tick}`);
  assert.ok(!svg.includes('>10</text>'), 'the axis ends at the domain');
  assert.ok(svg.includes('>train loss</text>') && !svg.includes('this epoch'), 'no legend entry without data');
  const narrow = curvesSvg(series, 'loss', 'loss', 'epoch', { xDomain: [0, 9], width: 360 });
  checkXml(narrow);
  assert.match(narrow, /^<svg [^>]*width="360"/);
  const legendY = Number(/<rect x="64" y="([\d.]+)" width="14" height="4"/.exec(narrow)![1]);
  assert.ok(legendY > 340, 'the legend goes under the plot');
});

test('curvesSvg draws a line per series with axes, ticks and a legend', () => {
  const series = [
    { name: 'train loss', points: records.map((r): [number, number] => [r.epoch, r.trainLoss]) },
    { name: 'valid loss', points: records.map((r): [number, number] => [r.epoch, r.validLoss]) },
  ];
  const svg = curvesSvg(series, 'loss', 'cross-entropy', 'epoch');
  checkXml(svg);
  assert.equal(count(svg, /<path d="M[\d.]+ [\d.]+ L/g), 2);
  for (const label of ['train loss', 'valid loss', 'cross-entropy', 'epoch', '>0</text>', '>10</text>']) assert.ok(svg.includes(label), label);
  const empty = curvesSvg([{ name: 'loss', points: [[0, NaN]] }], 'loss', 'loss');
  checkXml(empty);
  assert.ok(empty.includes('no data yet'));
});

test('titles and names are escaped for XML', () => {
  const title = 'a <b> & "c"';
  const svgs = [
    alphaHeatmapSvg(last.alphas, title),
    cellSvg(genotypeByName('Cri1_CIFAR_3').reduce, title),
    cellSvgFromSelection(last.selectedIdxs, title),
    curvesSvg([{ name: '<&>', points: [[0, 1], [1, 0.5]] }], title, 'x<y'),
  ];
  for (const svg of svgs) {
    checkXml(svg);
    assert.ok(svg.includes('a &lt;b&gt; &amp; &quot;c&quot;'));
    assert.ok(!svg.includes('<b>'));
  }
  assert.ok(svgs[3]!.includes('&lt;&amp;&gt;') && svgs[3]!.includes('x&lt;y'));
});
