// The page's figures: the SVG builders the CLI writes to files (src/search/plots.ts), inlined.
// The curves follow every step, the cells, alpha and score heatmaps and the decisions list every
// epoch; all are painted at most once per animation frame. Each figure is as wide as its column
// allows, but never so small that its text falls under 10 px: the curves are redrawn to the
// column's width, the cells turn upright in a narrow column, and a heatmap wider than its column
// scrolls inside its figure.
import type { Genotype } from '../search/genotype.ts';
import { alphaHeatmapSvg, cellSvg, cellSvgFromSelection, curvesSvg, edgeLabel, placeholderSvg, scoreHeatmapSvg, type CellLayout } from '../search/plots.ts';
import type { EpochRecord, StepInfo } from '../search/search.ts';
import { NUM_EDGES, type CellType } from '../search/space.ts';
import type { Frames } from './frames.ts';

const CELL_TYPES: CellType[] = ['normal', 'reduce'];

const FIGURES = ['loss', 'accuracy', 'cell-normal', 'cell-reduce', 'alphas-normal', 'alphas-reduce', 'scores-normal', 'scores-reduce'] as const;
type FigureName = (typeof FIGURES)[number];

type Point = [number, number];

/** The smallest text a figure may show, in CSS pixels. */
const MIN_TEXT_PX = 10;
/** The SVG builders' smallest font size, so the smallest scale a figure may be drawn at is MIN_TEXT_PX / this. */
const SMALLEST_FONT = 11;
const MIN_SCALE = MIN_TEXT_PX / SMALLEST_FONT;
/** The wide cell drawing's width; below MIN_SCALE of it the upright one is drawn. */
const WIDE_CELL = 900;
/** What a figure's padding and border take from its column. */
const FIGURE_CHROME = 14;

export class SearchCharts {
  private readonly figures = new Map<FigureName, HTMLElement>();
  private records: readonly EpochRecord[] = [];
  private epochs = 0;
  private genotype: Genotype | undefined;
  /** Running means of the epoch in progress, at x = epoch + step/steps (the epoch's point is at epoch + 1). */
  private live: { loss: Point[]; accuracy: Point[] } = { loss: [], accuracy: [] };
  /** The column's inner width the figures were last drawn for. */
  private width = 0;

  constructor(private readonly root: HTMLElement, private readonly decisions: HTMLOListElement, private readonly frames: Frames) {
    for (const name of FIGURES) {
      const figure = document.createElement('figure');
      figure.id = `fig-${name}`;
      root.append(figure);
      this.figures.set(name, figure);
    }
    new ResizeObserver(() => {
      if (this.columnWidth() !== this.width) this.frames.paint('figures', () => this.paintAll());
    }).observe(root);
    this.show([], 0);
  }

  step(info: StepInfo): void {
    const x = info.epoch + info.step / info.steps;
    // A new epoch, or this one again from its checkpoint (after a lost device): the curve starts over.
    if (info.step === 1 || x <= (this.live.loss.at(-1)?.[0] ?? -Infinity)) this.live = { loss: [], accuracy: [] };
    this.live.loss.push([x, info.loss]);
    this.live.accuracy.push([x, info.accuracy]);
    this.frames.paint('curves', () => this.paintCurves());
  }

  /** Shows these records of a search of `epochs` epochs; with the final genotype the cells are drawn from it. */
  show(records: readonly EpochRecord[], epochs: number, genotype?: Genotype): void {
    this.records = records;
    this.epochs = epochs;
    this.genotype = genotype;
    this.live = { loss: [], accuracy: [] };
    this.frames.paint('figures', () => this.paintAll());
  }

  private paintAll(): void {
    this.width = this.columnWidth();
    this.paintCurves();
    const last = this.records.at(-1);
    const layout: CellLayout = this.width >= WIDE_CELL * MIN_SCALE ? 'wide' : 'tall';
    for (const type of CELL_TYPES) {
      const cell = last?.cells[type];
      this.draw(`cell-${type}`, this.genotype
        ? cellSvg(this.genotype[type], `${type} cell (final)`, layout)
        : cellSvgFromSelection(cell?.selectedIdxs ?? new Array<number>(NUM_EDGES).fill(-1), `${type} cell${last ? ` after epoch ${last.epoch + 1}` : ''}`, layout));
      this.draw(`alphas-${type}`, cell
        ? alphaHeatmapSvg(cell.alphas, `softmax(α), ${type} cell, epoch ${last!.epoch + 1}`, cell.selectedIdxs)
        : placeholderSvg(`softmax(α), ${type} cell`, 'shown after the first epoch'));
      this.draw(`scores-${type}`, scoreHeatmapSvg([...this.records], type));
    }
    this.paintDecisions();
  }

  private paintCurves(): void {
    const series = (name: string, pick: (r: EpochRecord) => number) => ({ name, points: this.records.map((r): Point => [r.epoch + 1, pick(r)]) });
    // The x axis spans the whole search from the start, so it reads the same before and after a reload.
    const options = { xDomain: [0, Math.max(1, this.epochs)] as Point, width: Math.max(320, Math.min(794, this.width)) };
    this.draw('loss', curvesSvg([
      series('train loss', (r) => r.trainLoss), series('valid loss', (r) => r.validLoss),
      { name: 'train, this epoch', points: this.live.loss },
    ], 'Search loss', 'loss', 'epoch', options));
    this.draw('accuracy', curvesSvg([
      series('train accuracy', (r) => r.trainAccuracy), series('valid accuracy', (r) => r.validAccuracy),
      { name: 'train, this epoch', points: this.live.accuracy },
    ], 'Search accuracy', 'accuracy', 'epoch', options));
  }

  /** The decisions, newest last and in view, with the list scrolled so that its top item shows whole. */
  private paintDecisions(): void {
    const items = this.records.flatMap((r) => CELL_TYPES.flatMap((type) => {
      const d = r.cells[type].decided;
      if (!d) return [];
      const li = document.createElement('li');
      li.innerHTML = `<span class="when">epoch ${r.epoch + 1}</span> <span class="type">${type}</span> ` +
        `<span class="edge">${edgeLabel(d.edge)}</span> → <b>${d.op}</b> <span class="muted">score ${r.cells[type].score[d.edge]!.toFixed(3)}</span>`;
      li.classList.toggle('new', r.epoch === this.records.at(-1)!.epoch);
      return [li];
    }));
    const list = this.decisions;
    list.style.paddingBottom = '';
    list.replaceChildren(...items);
    // Scrolled to the end, the top edge would fall inside an item: scroll on to that item's top,
    // with blank space below the newest item to make room.
    const end = list.scrollHeight - list.clientHeight;
    if (end <= 0) return;
    const top = (li: HTMLElement) => li.offsetTop - items[0]!.offsetTop;
    const first = items.find((li) => top(li) >= end)!;
    list.style.paddingBottom = `${top(first) - end}px`;
    list.scrollTop = top(first);
  }

  private columnWidth(): number {
    const figure = this.figures.get('loss')!;
    return Math.max(0, Math.floor(figure.getBoundingClientRect().width) - FIGURE_CHROME);
  }

  /** The figure at its drawn size where the column allows, else as small as the column but no smaller than MIN_SCALE. */
  private draw(name: FigureName, svg: string): void {
    const figure = this.figures.get(name)!;
    figure.innerHTML = svg;
    const drawing = figure.firstElementChild as SVGSVGElement;
    drawing.setAttribute('role', 'img');
    drawing.setAttribute('aria-label', drawing.querySelector('title')?.textContent ?? name);
    const width = Number(drawing.getAttribute('width'));
    drawing.style.width = `${Math.max(width * MIN_SCALE, Math.min(width, this.width || width))}px`;
    // Too wide to show whole at a legible size: it scrolls, says so, and takes the focus so keys scroll it.
    if (width * MIN_SCALE > this.width) {
      figure.tabIndex = 0;
      figure.append(Object.assign(document.createElement('figcaption'), { className: 'scroll-note', textContent: 'Wider than the screen: scroll sideways for the rest.' }));
    } else {
      figure.removeAttribute('tabindex');
    }
  }
}
