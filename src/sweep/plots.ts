// The sweep's figures as standalone SVG, drawn like the search's (src/search/plots.ts): accuracy
// per group as a box with every run on it, and accuracy against parameters, since a larger cell
// trains to a higher accuracy for reasons that have nothing to do with the search.
import { el, escapeXml, extent, fmtTick, linear, niceTicks, placeholderSvg, SERIES_COLOURS, svgDoc, text } from '../search/plots.ts';

export interface GroupValues {
  group: string;
  /** One per run, in [0, 1]. */
  values: number[];
}

const colourOf = (i: number) => SERIES_COLOURS[i % SERIES_COLOURS.length]!;

/** The value below which a share `q` of the sorted values lies, linearly interpolated. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below]! + (sorted[Math.min(below + 1, sorted.length - 1)]! - sorted[below]!) * (at - below);
}

/** Axes with a grid of round ticks on y; returns the y scale. */
function frame(left: number, top: number, pw: number, ph: number, values: number[], yLabel: string): { y: (v: number) => number; parts: string[] } {
  const ticks = niceTicks(...extent(values));
  const y = linear([ticks[0]!, ticks[ticks.length - 1]!], [top + ph, top]);
  const parts = [
    ...ticks.map((v) => el('line', { x1: left, x2: left + pw, y1: y(v), y2: y(v), stroke: '#eee' }) + text(left - 6, y(v) + 4, fmtTick(v), { 'text-anchor': 'end' })),
    el('path', { d: `M${left} ${top} V${top + ph} H${left + pw}`, fill: 'none', stroke: '#333' }),
    text(16, top + ph / 2, yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 16 ${top + ph / 2})` }),
  ];
  return { y, parts };
}

/** A box (quartiles, median, whiskers to the extremes) per group with its runs as dots beside the median line. */
export function groupStripSvg(groups: GroupValues[], title: string, yLabel: string): string {
  const shown = groups.filter((g) => g.values.length);
  if (!shown.length) return placeholderSvg(title, 'no finished runs yet');
  const [left, top, ph, band] = [64, 40, 300, 130];
  const pw = band * groups.length;
  const { y, parts } = frame(left, top, pw, ph, shown.flatMap((g) => g.values.map((v) => 100 * v)), yLabel);
  const boxes = groups.map((g, i) => {
    const cx = left + band * (i + 0.5);
    const label = text(cx, top + ph + 16, `${g.group} (${g.values.length})`, { 'text-anchor': 'middle' });
    if (!g.values.length) return label;
    const sorted = g.values.map((v) => 100 * v).sort((a, b) => a - b);
    const [q1, median, q3] = [0.25, 0.5, 0.75].map((q) => quantile(sorted, q)) as [number, number, number];
    const colour = colourOf(i);
    // Dots spread over the band's width in a fixed pattern, so the figure is the same every time.
    const dots = sorted.map((v, k) => el('circle', { cx: cx + ((k % 5) - 2) * 7, cy: y(v), r: 3.5, fill: colour, 'fill-opacity': 0.75 }));
    return [
      el('line', { x1: cx, x2: cx, y1: y(sorted[0]!), y2: y(sorted.at(-1)!), stroke: '#555' }),
      el('rect', { x: cx - 30, y: y(q3), width: 60, height: Math.max(1, y(q1) - y(q3)), fill: colour, 'fill-opacity': 0.15, stroke: colour }),
      el('line', { x1: cx - 30, x2: cx + 30, y1: y(median), y2: y(median), stroke: colour, 'stroke-width': 2 }),
      ...dots, label,
    ].join('');
  });
  return svgDoc(left + pw + 16, top + ph + 30, title, ...parts, ...boxes);
}

export interface ScatterPoint {
  group: string;
  x: number;
  /** In [0, 1]. */
  y: number;
  label: string;
}

/** Accuracy against a count (parameters), a colour per group, its legend on the right. */
export function scatterSvg(points: ScatterPoint[], groups: string[], title: string, xLabel: string, yLabel: string): string {
  if (!points.length) return placeholderSvg(title, 'no finished runs yet');
  const [left, top, ph, pw] = [64, 40, 300, 560];
  const { y, parts } = frame(left, top, pw, ph, points.map((p) => 100 * p.y), yLabel);
  const xTicks = niceTicks(...extent(points.map((p) => p.x)));
  const x = linear([xTicks[0]!, xTicks.at(-1)!], [left, left + pw]);
  const grid = xTicks.map((v) => el('line', { x1: x(v), x2: x(v), y1: top, y2: top + ph, stroke: '#eee' }) + text(x(v), top + ph + 15, fmtTick(v), { 'text-anchor': 'middle' }));
  const dots = points.map((p) => el('circle', { cx: x(p.x), cy: y(100 * p.y), r: 4, fill: colourOf(groups.indexOf(p.group)), 'fill-opacity': 0.8 }, el('title', {}, escapeXml(p.label))));
  const legend = groups.map((g, i) => el('circle', { cx: left + pw + 24, cy: top + 8 + i * 18, r: 4, fill: colourOf(i) }) + text(left + pw + 34, top + 12 + i * 18, g));
  return svgDoc(left + pw + 190, top + ph + 48, title, ...grid, ...parts, ...dots, ...legend, text(left + pw / 2, top + ph + 38, xLabel, { 'text-anchor': 'middle' }));
}
