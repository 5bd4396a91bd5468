// What a found cell weighs once trained, in words ("the cell trains with…"): the CLI's closing line
// and the page's results say it alike. Apart from parameters.ts, so the page's main thread gets the
// words without the network.
import type { TrainParameters } from './parameters.ts';

export function cellWeightsText({ count, preset, initChannels, layers }: TrainParameters): string {
  return `trains with ${count.toLocaleString('en-US')} weights at the ${preset} training preset (C=${initChannels}, ${layers} cells, auxiliary head apart)`;
}
