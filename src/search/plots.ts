// Plots of a search as standalone SVG strings: the CLI writes them to files and the web page
// inlines them, so they use no DOM, no ids (several share one page), no external fonts or scripts.

import { CELL_CONCAT } from './genotype.ts';
import type { EpochRecord } from './search.ts';
import { NUM_EDGES, PRIMITIVES, STEPS, inputIndex, nodeOfEdge, type CellType } from './space.ts';

type Attrs = Record<string, string | number | undefined>;
type Point = [number, number];

export function escapeXml(s: string): string {
  const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return s.replace(/[&<>"']/g, (c) => entities[c]!);
}

const round = (v: number): number => Math.round(v * 10) / 10;

export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? String(round(v)) : v!)}"`)
    .join('');
  return children.length ? `<${tag}${a}>${children.join('')}</${tag}>` : `<${tag}${a}/>`;
}

export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, escapeXml(content));
}

export function svgDoc(width: number, height: number, title: string, ...body: string[]): string {
  return el(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', viewBox: `0 0 ${width} ${height}`, width, height, 'font-family': 'sans-serif', 'font-size': 11 },
    el('title', {}, escapeXml(title)),
    el('rect', { width, height, fill: 'white' }),
    text(12, 22, title, { 'font-size': 14, 'font-weight': 'bold' }),
    ...body,
  );
}

/** A figure's title and a note in place of a plot with nothing to show yet; narrow, to fit any column. */
export function placeholderSvg(title: string, note: string): string {
  return svgDoc(320, 80, title, text(12, 54, note, { fill: '#777' }));
}

const emptyPlot = (title: string): string => placeholderSvg(title, 'no epochs recorded yet');

// ---- scales --------------------------------------------------------------------------------

/** Viridis at five stops: perceptually even and readable in greyscale. */
const VIRIDIS_HEX = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];
const GREYED = '#e4e4e4';
const MARK = '#e8000b';

/** One colour per op, indexed like PRIMITIVES; 'none' grey. */
export const OP_COLOURS: readonly string[] = ['#7f7f7f', '#1f77b4', '#17becf', '#ff7f0e', '#d62728', '#2ca02c', '#9467bd', '#8c564b'];
export const SERIES_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function heatColour(t: number): string {
  if (!Number.isFinite(t)) return '#bbbbbb';
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS_HEX.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS_HEX.length - 2);
  const [a, b] = [VIRIDIS_HEX[i]!, VIRIDIS_HEX[i + 1]!].map((h) => [1, 3, 5].map((p) => parseInt(h.slice(p, p + 2), 16)));
  return `rgb(${a!.map((c, k) => Math.round(c + (b![k]! - c) * (x - i))).join(',')})`;
}

/** [min, max] of the finite values; [0, 1] when there are none. */
export function extent(values: readonly number[]): Point {
  const finite = values.filter(Number.isFinite);
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
}

const normalizer = ([lo, hi]: Point) => (v: number): number => (v - lo) / (hi - lo || 1);

export function linear([d0, d1]: Point, [r0, r1]: Point): (v: number) => number {
  return (v) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0));
}

/** Round-numbered ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9))!;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)));
}

export const fmtTick = (v: number): string => String(Number(v.toPrecision(6)));
const fmtValue = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : String(v));

function colourLegend(x: number, y: number, width: number, domain: Point, label: string): string {
  const steps = 32;
  const w = width / steps;
  const swatches = Array.from({ length: steps }, (_, i) =>
    el('rect', { class: 'legend', x: x + i * w, y, width: w + 0.5, height: 10, fill: heatColour(i / (steps - 1)) }),
  );
  return [
    ...swatches,
    text(x, y + 23, fmtValue(domain[0]), { 'text-anchor': 'start' }),
    text(x + width, y + 23, fmtValue(domain[1]), { 'text-anchor': 'end' }),
    text(x + width / 2, y + 23, label, { 'text-anchor': 'middle', fill: '#555' }),
  ].join('');
}

function opLegend(x: number, y: number, perRow: number): string {
  return PRIMITIVES.map((op, k) => {
    const [cx, cy] = [x + (k % perRow) * 118, y + Math.floor(k / perRow) * 16];
    return el('rect', { x: cx, y: cy - 8, width: 14, height: 4, fill: OP_COLOURS[k] }) + text(cx + 18, cy - 3, op);
  }).join('');
}

const finitePoints = (points: readonly Point[]): Point[] => points.filter((p) => p.every(Number.isFinite));

/** A line through the finite points; a dot when there is only one. */
function line(all: readonly Point[], colour: string, attrs: Attrs = {}): string {
  const points = finitePoints(all);
  if (points.length === 0) return '';
  if (points.length === 1) return el('circle', { cx: points[0]![0], cy: points[0]![1], r: 2.5, fill: colour });
  const d = points.map(([x, y], i) => `${i ? 'L' : 'M'}${round(x)} ${round(y)}`).join(' ');
  return el('path', { d, fill: 'none', stroke: colour, 'stroke-width': 1.5, ...attrs });
}

// ---- edges ---------------------------------------------------------------------------------

/** Name of a cell state by its input index: 0 = c_{k-2}, 1 = c_{k-1}, 2 + i = node i. */
const stateName = (j: number): string => (j === 0 ? 'c_{k-2}' : j === 1 ? 'c_{k-1}' : `n${j - 2}`);

/** "n2←n0": the node an edge feeds and the state it reads. */
export function edgeLabel(edge: number): string {
  return `n${nodeOfEdge(edge)}←${stateName(inputIndex(edge))}`;
}

const EDGES = Array.from({ length: NUM_EDGES }, (_, e) => e);

// ---- 1. alphas of one epoch ----------------------------------------------------------------

/** Softmaxed alphas [14][8] as a heatmap; with selectedIdxs, decided ops outlined and pruned edges greyed. */
export function alphaHeatmapSvg(alphas: number[][], title: string, selectedIdxs?: number[]): string {
  const [cw, ch, left, top] = [84, 22, 96, 58];
  const domain = extent(alphas.flat());
  const t = normalizer(domain);
  const header = PRIMITIVES.map((op, k) => text(left + k * cw + cw / 2, top - 8, op, { 'text-anchor': 'middle' }));
  const rows = alphas.map((row, e) => {
    const y = top + e * ch;
    const sel = selectedIdxs?.[e] ?? -1;
    const cells = row.map((v, k) => {
      const fill = sel === 0 ? GREYED : heatColour(t(v));
      const ink = sel === 0 ? '#999' : t(v) > 0.6 ? 'black' : 'white';
      return (
        el('rect', { class: 'cell', x: left + k * cw, y, width: cw, height: ch, fill, stroke: 'white' }) +
        text(left + k * cw + cw / 2, y + 15, fmtValue(v), { 'text-anchor': 'middle', fill: ink })
      );
    });
    const status = sel > 0 ? `→ ${PRIMITIVES[sel]}` : sel === 0 ? 'pruned' : '';
    return [
      text(left - 6, y + 15, edgeLabel(e), { 'text-anchor': 'end', fill: sel === 0 ? '#999' : '#222' }),
      ...cells,
      sel > 0 ? el('rect', { class: 'chosen', x: left + sel * cw + 1, y: y + 1, width: cw - 2, height: ch - 2, fill: 'none', stroke: MARK, 'stroke-width': 2.5 }) : '',
      text(left + PRIMITIVES.length * cw + 8, y + 15, status, { fill: sel > 0 ? MARK : '#999', 'font-weight': sel > 0 ? 'bold' : undefined }),
    ].join('');
  });
  const gridBottom = top + alphas.length * ch;
  return svgDoc(left + PRIMITIVES.length * cw + 120, gridBottom + 50, title, ...header, ...rows, colourLegend(left, gridBottom + 14, 240, domain, 'softmax(α)'));
}

// ---- 2. edge scores over epochs ------------------------------------------------------------

/** Whether each edge was still a candidate when this record's scores were computed. */
function candidatesBefore(records: readonly EpochRecord[], i: number, type: CellType): readonly boolean[] {
  return i > 0 ? records[i - 1]!.cells[type].candidateFlags : EDGES.map(() => true);
}

/** Score of each edge per epoch; edges no longer candidates greyed, each decision outlined. */
export function scoreHeatmapSvg(records: EpochRecord[], type: CellType): string {
  const title = `${type} cell: edge score per epoch`;
  if (!records.length) return emptyPlot(title);
  const [ch, left, top] = [20, 96, 44];
  const cw = Math.min(36, Math.max(10, 640 / records.length));
  const domain = extent(records.flatMap((r) => r.cells[type].score));
  const t = normalizer(domain);
  const labelEvery = Math.ceil(28 / cw);
  const columns = records.map((record, i) => {
    const x = left + i * cw;
    const { score, decided } = record.cells[type];
    const candidate = candidatesBefore(records, i, type);
    const cells = EDGES.map((e) =>
      el('rect', { class: 'cell', x, y: top + e * ch, width: cw, height: ch, fill: candidate[e] ? heatColour(t(score[e]!)) : GREYED, stroke: 'white', 'stroke-width': 0.5 },
        el('title', {}, escapeXml(`epoch ${record.epoch + 1}, ${edgeLabel(e)}: ${fmtValue(score[e]!)}`))),
    );
    const mark = decided
      ? el('rect', { class: 'decision', x: x + 1, y: top + decided.edge * ch + 1, width: cw - 2, height: ch - 2, fill: 'none', stroke: MARK, 'stroke-width': 2.5 })
      : '';
    const tick = i % labelEvery === 0 ? text(x + cw / 2, top + NUM_EDGES * ch + 14, String(record.epoch + 1), { 'text-anchor': 'middle' }) : '';
    return cells.join('') + mark + tick;
  });
  const gridRight = left + records.length * cw;
  const decisions = records.flatMap((r) => {
    const d = r.cells[type].decided;
    return d ? [`epoch ${r.epoch + 1}: ${edgeLabel(d.edge)} → ${d.op}`] : [];
  });
  const bottom = top + NUM_EDGES * ch;
  return svgDoc(
    gridRight + 280, bottom + 68, title,
    ...EDGES.map((e) => text(left - 6, top + e * ch + 14, edgeLabel(e), { 'text-anchor': 'end' })),
    ...columns,
    text((left + gridRight) / 2, bottom + 30, 'epoch', { 'text-anchor': 'middle', fill: '#555' }),
    text(gridRight + 16, top + 10, 'decisions', { 'font-weight': 'bold' }),
    ...decisions.map((d, i) => text(gridRight + 16, top + 28 + i * 16, d, { fill: MARK })),
    colourLegend(left, bottom + 38, 240, domain, 'score'),
  );
}

// ---- 3. alpha trajectories -----------------------------------------------------------------

/** One small panel per edge (rows = nodes), the 8 softmaxed alphas over epochs, one colour per op. */
export function alphaTrajectorySvg(records: EpochRecord[], type: CellType): string {
  const title = `${type} cell: softmax(α) per edge over epochs`;
  if (!records.length) return emptyPlot(title);
  const [pw, ph, left, top, gapX, gapY] = [160, 92, 40, 84, 22, 40];
  const cells = records.map((r) => r.cells[type]);
  const yTicks = niceTicks(0, extent(cells.flatMap((c) => c.alphas.flat()))[1], 2);
  const x = linear([records[0]!.epoch, records[records.length - 1]!.epoch], [0, pw]);
  const y = linear([0, yTicks[yTicks.length - 1]!], [ph, 0]);
  const last = cells[cells.length - 1]!;
  const panels = EDGES.map((e) => {
    const [px, py] = [left + inputIndex(e) * (pw + gapX), top + nodeOfEdge(e) * (ph + gapY)];
    const sel = last.selectedIdxs[e]!;
    const decidedAt = records.find((r) => r.cells[type].decided?.edge === e)?.epoch;
    const lines = PRIMITIVES.map((_, k) =>
      line(cells.map((c, i): Point => [px + x(records[i]!.epoch), py + y(c.alphas[e]![k]!)]), OP_COLOURS[k]!, { opacity: sel === 0 ? 0.35 : undefined }),
    );
    return [
      el('rect', { x: px, y: py, width: pw, height: ph, fill: sel === 0 ? '#f2f2f2' : 'none', stroke: '#bbb' }),
      ...yTicks.map((v) => text(px - 3, py + y(v) + 4, fmtTick(v), { 'text-anchor': 'end', 'font-size': 9, fill: '#777' })),
      decidedAt === undefined ? '' : el('line', { x1: px + x(decidedAt), x2: px + x(decidedAt), y1: py, y2: py + ph, stroke: MARK, 'stroke-dasharray': '3 2' }),
      ...lines,
      text(px, py - 5, edgeLabel(e) + (sel > 0 ? ` → ${PRIMITIVES[sel]}` : sel === 0 ? ' (pruned)' : ''), { fill: sel > 0 ? MARK : sel === 0 ? '#999' : '#222' }),
      text(px, py + ph + 12, String(records[0]!.epoch + 1), { 'font-size': 9, fill: '#777' }),
      text(px + pw, py + ph + 12, String(records[records.length - 1]!.epoch + 1), { 'font-size': 9, fill: '#777', 'text-anchor': 'end' }),
    ].join('');
  });
  const width = left + (STEPS + 1) * (pw + gapX);
  return svgDoc(width, top + STEPS * (ph + gapY), title, opLegend(left, 46, 4), ...panels);
}

// ---- 4. cell DAG ---------------------------------------------------------------------------

interface CellEdge {
  from: number; // input index: 0 = c_{k-2}, 1 = c_{k-1}, 2 + i = node i
  to: number; // node
  op: string | null; // null: an undecided candidate
}

const OUTPUT = STEPS + 2;

/** wide: inputs at the left, the nodes on a row, the output at the right (900 × 410); tall: the same top to bottom (360 × 850), for narrow screens. */
export type CellLayout = 'wide' | 'tall';

const CELL_SIZE: Record<CellLayout, Point> = { wide: [900, 410], tall: [360, 850] };

/** Centres of the states: the inputs first, the nodes on a line, the output c_{k} last. */
function statePosition(s: number, layout: CellLayout): Point {
  if (layout === 'tall') return s < 2 ? [s === 0 ? 60 : 300, 56] : [180, 190 + (s - 2) * 150];
  return s < 2 ? [70, s === 0 ? 50 : 350] : [230 + (s - 2) * 155, 200];
}

/** How far an edge between states bows from the straight line: edges that skip nodes on the
 * middle line arc around them, alternately on either side so their labels stay apart. */
function edgeBend(from: number, to: number): number {
  const span = to - from;
  return from < 2 || span < 2 ? 0 : (span % 2 ? -1 : 1) * 20 * (span + 1);
}

/** Where the segment from a box's centre towards `toward` leaves a box of half-size (hw, hh). */
function boxExit([cx, cy]: Point, [tx, ty]: Point, hw: number, hh: number): Point {
  const [dx, dy] = [tx - cx, ty - cy];
  const s = Math.min(dx ? hw / Math.abs(dx) : Infinity, dy ? hh / Math.abs(dy) : Infinity);
  return [cx + dx * s, cy + dy * s];
}

const halfSize = (s: number): Point => (s < 2 || s === OUTPUT ? [34, 14] : [20, 14]);

/** A drawn edge: its path and arrow head, and the point at t ∈ [0, 1] along its curve. */
interface Arrow {
  svg: string;
  at(t: number): Point;
}

function arrow(from: number, to: number, layout: CellLayout, colour: string, attrs: Attrs): Arrow {
  const [a, b] = [statePosition(from, layout), statePosition(to, layout)];
  const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const bend = edgeBend(from, to);
  const c: Point = [mx - ((b[1] - a[1]) / len) * bend, my + ((b[0] - a[0]) / len) * bend];
  const start = boxExit(a, c, ...halfSize(from));
  const end = boxExit(b, c, ...halfSize(to));
  const tail = Math.hypot(end[0] - c[0], end[1] - c[1]);
  const [ux, uy] = [(end[0] - c[0]) / tail, (end[1] - c[1]) / tail];
  const head = [end, [end[0] - 8 * ux - 4 * uy, end[1] - 8 * uy + 4 * ux], [end[0] - 8 * ux + 4 * uy, end[1] - 8 * uy - 4 * ux]];
  const path = `M${round(start[0])} ${round(start[1])} Q${round(c[0])} ${round(c[1])} ${round(end[0])} ${round(end[1])}`;
  const along = (k: 0 | 1, t: number) => (1 - t) ** 2 * start[k] + 2 * t * (1 - t) * c[k] + t ** 2 * end[k];
  return {
    svg: el('path', { class: 'edge', d: path, fill: 'none', stroke: colour, 'stroke-width': 1.6, ...attrs }) +
      el('polygon', { points: head.map((p) => p.map(round).join(',')).join(' '), fill: colour }),
    at: (t) => [along(0, t), along(1, t)],
  };
}

/** A box as [left, top, right, bottom]. */
type Box = [number, number, number, number];

const LABEL_FONT = 11;
// A generous width per character of sans-serif op names (mostly lowercase, digits and '_'), so boxes never undercount.
const LABEL_CHAR_WIDTH = 0.62 * LABEL_FONT;
const LABEL_PAD = 3;
// Where along its edge a label may sit, in order of preference: the middle first, then outwards.
const LABEL_POSITIONS = [0.5, 0.6, 0.4, 0.7, 0.3, 0.75, 0.25, 0.8, 0.2, 0.85, 0.15];

function labelBox([x, y]: Point, label: string): Box {
  const hw = (label.length * LABEL_CHAR_WIDTH) / 2 + LABEL_PAD;
  const hh = LABEL_FONT / 2 + LABEL_PAD;
  return [x - hw, y - hh, x + hw, y + hh];
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Edge labels on a white halo, each at the first place along its edge where it covers no state
 * and no label placed before it (else where it covers least), so neighbouring labels never collide.
 */
function placeLabels(labels: { arrow: Arrow; text: string; colour: string }[], layout: CellLayout): string[] {
  const [width, height] = CELL_SIZE[layout];
  const taken: Box[] = Array.from({ length: OUTPUT + 1 }, (_, s) => {
    const [[x, y], [hw, hh]] = [statePosition(s, layout), halfSize(s)];
    return [x - hw - 2, y - hh - 2, x + hw + 2, y + hh + 2];
  });
  // Clear of the title above and the note below (two lines in the upright drawing).
  const bottom = height - (layout === 'tall' ? 44 : 26);
  const outside = (b: Box) => (b[0] < 0 || b[1] < 30 || b[2] > width || b[3] > bottom ? 1e6 : 0);
  return labels.map(({ arrow: a, text: label, colour }) => {
    let best: { box: Box; cost: number } | null = null;
    for (const t of LABEL_POSITIONS) {
      const box = labelBox(a.at(t), label);
      const cost = outside(box) + taken.reduce((sum, other) => sum + overlap(box, other), 0);
      if (!best || cost < best.cost) best = { box, cost };
      if (cost === 0) break;
    }
    const box = best!.box;
    taken.push(box);
    const [cx, cy] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
    return el('rect', { class: 'label-halo', x: box[0], y: box[1], width: box[2] - box[0], height: box[3] - box[1], rx: 3, fill: 'white', 'fill-opacity': 0.92, stroke: colour, 'stroke-opacity': 0.35 }) +
      text(cx, cy + 4, label, { class: 'edge-label', 'text-anchor': 'middle', 'font-size': LABEL_FONT, fill: colour });
  });
}

function stateBox(s: number, layout: CellLayout): string {
  const [[x, y], [hw, hh]] = [statePosition(s, layout), halfSize(s)];
  const fill = s < 2 ? '#c1ffc1' : s === OUTPUT ? '#eee8aa' : '#add8e6';
  const name = s === OUTPUT ? 'c_{k}' : stateName(s);
  return el('rect', { x: x - hw, y: y - hh, width: 2 * hw, height: 2 * hh, rx: 6, fill, stroke: '#555' }) + text(x, y + 4, name, { 'text-anchor': 'middle', 'font-weight': 'bold' });
}

function cellDrawing(edges: readonly CellEdge[], title: string, note: string, layout: CellLayout): string {
  const opColour = (op: string) => OP_COLOURS[(PRIMITIVES as readonly string[]).indexOf(op)] ?? '#333';
  const toOutput = CELL_CONCAT.map((s) => arrow(s, OUTPUT, layout, '#999', { 'stroke-width': 1 }));
  const drawn = edges.map(({ from, to, op }) => ({
    op,
    colour: op === null ? '#aaa' : opColour(op),
    arrow: arrow(from, to + 2, layout, op === null ? '#aaa' : opColour(op), op === null ? { 'stroke-dasharray': '5 4' } : {}),
  }));
  const labels = placeLabels(drawn.flatMap(({ op, colour, arrow: a }) => (op === null ? [] : [{ arrow: a, text: op, colour }])), layout);
  const states = Array.from({ length: OUTPUT + 1 }, (_, s) => stateBox(s, layout));
  const [width, height] = CELL_SIZE[layout];
  // The note wraps onto a second line in the narrow drawing.
  const noteLines = layout === 'tall' ? note.split('; ') : [note];
  return svgDoc(width, height, title, ...toOutput.map((a) => a.svg), ...drawn.map((d) => d.arrow.svg), ...states, ...labels,
    ...noteLines.map((line, i) => text(12, height - 12 - 16 * (noteLines.length - 1 - i), line, { fill: '#777' })));
}

/** The final cell of a genotype gene: two (op, input index) pairs per node, nodes in order. */
export function cellSvg(gene: readonly (readonly [string, number])[], title: string, layout: CellLayout = 'wide'): string {
  const edges = gene.map(([op, from], i): CellEdge => ({ from, to: Math.floor(i / 2), op }));
  return cellDrawing(edges, title, 'edges labelled with their op; c_{k} concatenates the nodes', layout);
}

/** A cell while it is searched: decided edges solid with their op, undecided candidates dashed. */
export function cellSvgFromSelection(selectedIdxs: number[], title: string, layout: CellLayout = 'wide'): string {
  const edges = EDGES.flatMap((e): CellEdge[] => {
    const sel = selectedIdxs[e]!;
    return sel === 0 ? [] : [{ from: inputIndex(e), to: nodeOfEdge(e), op: sel > 0 ? PRIMITIVES[sel]! : null }];
  });
  return cellDrawing(edges, title, 'solid: decided edges and their op; dashed grey: candidates still undecided', layout);
}

// ---- 5. curves -----------------------------------------------------------------------------

export interface CurvesOptions {
  /** The x axis' extent, whatever the data cover (a search's epochs, so the axis does not move as they come). */
  xDomain?: Point;
  /** Width of the whole drawing (default 794); below 560 the legend goes under the plot. */
  width?: number;
}

/** Line chart of loss or accuracy curves; non-finite points are left out, and series without any from the legend. */
export function curvesSvg(series: { name: string; points: [number, number][] }[], title: string, yLabel: string, xLabel = '', options: CurvesOptions = {}): string {
  const colour = (i: number) => SERIES_COLOURS[i % SERIES_COLOURS.length]!;
  // Colours follow the series' order, so a series keeps its colour when another has no data yet.
  const shown = series.map((s, i) => ({ name: s.name, points: finitePoints(s.points), colour: colour(i) })).filter((s) => s.points.length);
  const width = options.width ?? 794;
  if (!shown.length) return placeholderSvg(title, 'no data yet');
  const all = shown.flatMap((s) => s.points);
  const legendRight = width >= 560;
  const [left, top, ph] = [64, 40, 300];
  const pw = width - left - (legendRight ? 170 : 16);
  const xDomain = options.xDomain ?? extent(all.map((p) => p[0]));
  const xTicks = options.xDomain ? niceTicks(...xDomain).filter((v) => v >= xDomain[0] && v <= xDomain[1]) : niceTicks(...xDomain);
  const yTicks = niceTicks(...extent(all.map((p) => p[1])));
  const x = linear(options.xDomain ?? [xTicks[0]!, xTicks[xTicks.length - 1]!], [left, left + pw]);
  const y = linear([yTicks[0]!, yTicks[yTicks.length - 1]!], [top + ph, top]);
  const grid = [
    ...xTicks.map((v) => el('line', { x1: x(v), x2: x(v), y1: top, y2: top + ph, stroke: '#eee' }) + text(x(v), top + ph + 15, fmtTick(v), { 'text-anchor': 'middle' })),
    ...yTicks.map((v) => el('line', { x1: left, x2: left + pw, y1: y(v), y2: y(v), stroke: '#eee' }) + text(left - 6, y(v) + 4, fmtTick(v), { 'text-anchor': 'end' })),
    el('path', { d: `M${left} ${top} V${top + ph} H${left + pw}`, fill: 'none', stroke: '#333' }),
  ];
  const lines = shown.map((s) => line(s.points.map(([a, b]): Point => [x(a), y(b)]), s.colour));
  const [legendX, legendY] = legendRight ? [left + pw + 16, top + 6] : [left, top + ph + 52];
  const legend = shown.map((s, i) =>
    el('rect', { x: legendX, y: legendY + i * 18, width: 14, height: 4, fill: s.colour }) + text(legendX + 20, legendY + 6 + i * 18, s.name),
  );
  return svgDoc(
    width, top + ph + 48 + (legendRight ? 0 : 18 * shown.length + 8), title, ...grid, ...lines, ...legend,
    text(16, top + ph / 2, yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 16 ${top + ph / 2})` }),
    text(left + pw / 2, top + ph + 38, xLabel, { 'text-anchor': 'middle' }),
  );
}
