// Writes the search's SVG figures beside its log: alpha heatmaps, score heatmaps, alpha
// trajectories, loss/accuracy curves and the cells (partly decided while the search runs).
import { join } from 'node:path';
import type { Genotype } from '../search/genotype.ts';
import { alphaHeatmapSvg, alphaTrajectorySvg, cellSvg, cellSvgFromSelection, curvesSvg, scoreHeatmapSvg } from '../search/plots.ts';
import type { EpochRecord } from '../search/search.ts';
import { writeFileAtomic } from './files.ts';

export function searchFigures(records: EpochRecord[], genotype?: Genotype): Record<string, string> {
  const figures: Record<string, string> = {};
  const last = records.at(-1);
  const series = (name: string, pick: (r: EpochRecord) => number) => ({ name, points: records.map((r) => [r.epoch + 1, pick(r)] as [number, number]) });
  figures['curves_loss.svg'] = curvesSvg([series('train loss', (r) => r.trainLoss), series('valid loss', (r) => r.validLoss)], 'Search loss', 'loss', 'epoch');
  figures['curves_accuracy.svg'] = curvesSvg(
    [series('train accuracy', (r) => r.trainAccuracy), series('valid accuracy', (r) => r.validAccuracy)], 'Search accuracy', 'accuracy', 'epoch');
  for (const type of ['normal', 'reduce'] as const) {
    figures[`scores_${type}.svg`] = scoreHeatmapSvg(records, type);
    figures[`alpha_trajectories_${type}.svg`] = alphaTrajectorySvg(records, type);
    if (last) figures[`alphas_${type}.svg`] = alphaHeatmapSvg(last.cells[type].alphas, `softmax(alphas), ${type} cell, epoch ${last.epoch + 1}`, last.cells[type].selectedIdxs);
    if (genotype) figures[`cell_${type}.svg`] = cellSvg(genotype[type], `${type} cell`);
    else if (last) figures[`cell_${type}.svg`] = cellSvgFromSelection(last.cells[type].selectedIdxs, `${type} cell (epoch ${last.epoch + 1})`);
  }
  return figures;
}

export function writeSearchPlots(out: string, records: EpochRecord[], genotype?: Genotype): void {
  for (const [file, svg] of Object.entries(searchFigures(records, genotype))) writeFileAtomic(join(out, file), svg);
}
