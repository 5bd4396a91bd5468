// The page's figures: the SVG builders the CLI writes to files (src/search/plots.ts), inlined.
// The curves follow every step; the cells, alpha and score heatmaps and the decisions list
// follow every epoch.
import type { Genotype } from '../search/genotype.ts';
import { alphaHeatmapSvg, cellSvg, cellSvgFromSelection, curvesSvg, edgeLabel, scoreHeatmapSvg } from '../search/plots.ts';
import type { EpochRecord, StepInfo } from '../search/search.ts';
import { NUM_EDGES, type CellType } from '../search/space.ts';

const CELL_TYPES: CellType[] = ['normal', 'reduce'];

const FIGURES = ['loss', 'accuracy', 'cell-normal', 'cell-reduce', 'alphas-normal', 'alphas-reduce', 'scores-normal', 'scores-reduce'] as const;
type FigureName = (typeof FIGURES)[number];

type Point = [number, number];

/** Width of cellSvg's drawings; the other figures are narrower, except long score heatmaps. */
const WIDEST_FIGURE = 900;

export class SearchCharts {
  private readonly figures = new Map<FigureName, HTMLElement>();
  private records: readonly EpochRecord[] = [];
  /** Running means of the epoch in progress, at x = epoch + step/steps (the epoch's point is at epoch + 1). */
  private live: { loss: Point[]; accuracy: Point[] } = { loss: [], accuracy: [] };

  constructor(root: HTMLElement, private readonly decisions: HTMLOListElement) {
    for (const name of FIGURES) {
      const figure = document.createElement('figure');
      figure.id = `fig-${name}`;
      root.append(figure);
      this.figures.set(name, figure);
    }
    this.show([]);
  }

  step(info: StepInfo): void {
    if (info.step === 1) this.live = { loss: [], accuracy: [] };
    const x = info.epoch + info.step / info.steps;
    this.live.loss.push([x, info.loss]);
    this.live.accuracy.push([x, info.accuracy]);
    this.drawCurves();
  }

  /** Redraws everything for these records; with the final genotype the cells are drawn from it. */
  show(records: readonly EpochRecord[], genotype?: Genotype): void {
    this.records = records;
    this.live = { loss: [], accuracy: [] };
    this.drawCurves();
    const last = records.at(-1);
    for (const type of CELL_TYPES) {
      const cell = last?.cells[type];
      this.draw(`cell-${type}`, genotype
        ? cellSvg(genotype[type], `${type} cell (final)`)
        : cellSvgFromSelection(cell?.selectedIdxs ?? new Array<number>(NUM_EDGES).fill(-1), `${type} cell${last ? ` after epoch ${last.epoch + 1}` : ''}`));
      this.draw(`alphas-${type}`, cell
        ? alphaHeatmapSvg(cell.alphas, `softmax(α), ${type} cell, epoch ${last!.epoch + 1}`, cell.selectedIdxs)
        : placeholder(`softmax(α), ${type} cell`, 'shown after the first epoch'));
      this.draw(`scores-${type}`, scoreHeatmapSvg([...records], type));
    }
    this.drawDecisions();
  }

  private drawCurves(): void {
    const series = (name: string, pick: (r: EpochRecord) => number) => ({ name, points: this.records.map((r): Point => [r.epoch + 1, pick(r)]) });
    this.draw('loss', curvesSvg([
      series('train loss', (r) => r.trainLoss), series('valid loss', (r) => r.validLoss),
      { name: 'train, this epoch', points: this.live.loss },
    ], 'Search loss', 'loss', 'epoch'));
    this.draw('accuracy', curvesSvg([
      series('train accuracy', (r) => r.trainAccuracy), series('valid accuracy', (r) => r.validAccuracy),
      { name: 'train, this epoch', points: this.live.accuracy },
    ], 'Search accuracy', 'accuracy', 'epoch'));
  }

  private drawDecisions(): void {
    const items = this.records.flatMap((r) => CELL_TYPES.flatMap((type) => {
      const d = r.cells[type].decided;
      if (!d) return [];
      const li = document.createElement('li');
      li.innerHTML = `<span class="when">epoch ${r.epoch + 1}</span> <span class="type">${type}</span> ` +
        `<span class="edge">${edgeLabel(d.edge)}</span> → <b>${d.op}</b> <span class="muted">score ${r.cells[type].score[d.edge]!.toFixed(3)}</span>`;
      li.dataset.epoch = String(r.epoch);
      return [li];
    }));
    const newest = this.records.at(-1)?.epoch;
    for (const li of items) li.classList.toggle('new', Number(li.dataset.epoch) === newest);
    this.decisions.replaceChildren(...items);
    this.decisions.scrollTop = this.decisions.scrollHeight;
  }

  /** Every figure at one scale, so their text matches: the widest (a cell drawing) fills a column
   * narrower than itself; in a wider one all keep their drawn size. */
  private draw(name: FigureName, svg: string): void {
    const figure = this.figures.get(name)!;
    figure.innerHTML = svg;
    const drawing = figure.firstElementChild as SVGSVGElement;
    const width = Number(drawing.getAttribute('width'));
    drawing.style.width = `${Math.min(100, (100 * width) / WIDEST_FIGURE)}%`;
    drawing.style.maxWidth = `${width}px`;
  }
}

function placeholder(title: string, note: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 888 120" width="888" height="120" font-family="sans-serif" font-size="11">` +
    `<rect width="888" height="120" fill="white"/><text x="12" y="22" font-size="14" font-weight="bold">${title}</text>` +
    `<text x="12" y="54" fill="#777">${note}</text></svg>`;
}
