// `sgas info`: the parameter count of a genotype's evaluation network, counted from the shapes of
// the network as it is built (on a backend that holds no data, so no GPU is needed).
import type { Backend } from '../../runtime/index.ts';
import { auxiliaryWidths, type EvalNetworkConfig } from '../eval/model.ts';
import { countParameters } from '../eval/parameters.ts';
import { genotypeToPython } from '../search/genotype.ts';
import { isReductionLayer } from '../search/space.ts';
import { numberFlag, numericOptions, parseFlags, POSITIVE_INTEGER, SHARED_RANGES, type Range } from './args.ts';
import { genotypeFlag } from './genotypeFlag.ts';

export const INFO_HELP = `usage: sgas info --genotype FILE|NAME|LITERAL [--init-channels C] [--layers L] [--classes K] [--input-channels I]
                 [--no-auxiliary-scaled]

Prints the parameters of the evaluation network (auxiliary head excluded, as papers count them) and
of the auxiliary head. Defaults: the paper's CIFAR-10 network, C=36, 20 cells, 10 classes, 3 channels.
The auxiliary head's widths scale with C as sgas train builds it (128 and 768 at C=36);
--no-auxiliary-scaled counts DARTS's fixed 128 and 768 at any C (as checkpoints from before the scaling).
`;

/** The range of every numeric flag of sgas info, by flag name. */
export const INFO_FLAG_RANGES: Record<string, Range> = {
  'init-channels': SHARED_RANGES.initChannels, layers: SHARED_RANGES.layers, classes: POSITIVE_INTEGER, 'input-channels': POSITIVE_INTEGER,
};

export async function infoCommand(argv: string[], _backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('info', argv, {
    ...numericOptions(INFO_FLAG_RANGES), genotype: { type: 'string' }, 'no-auxiliary-scaled': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(INFO_HELP);
    return 0;
  }
  const genotype = genotypeFlag(values.genotype, 'info');
  const flag = (name: string, fallback: number) => numberFlag(name, values[name as keyof typeof values] as string | undefined, fallback, INFO_FLAG_RANGES[name]!);
  const config: EvalNetworkConfig = {
    C: flag('init-channels', 36), layers: flag('layers', 20), classes: flag('classes', 10), inputChannels: flag('input-channels', 3),
    auxiliary: true, auxiliaryScaled: !values['no-auxiliary-scaled'],
  };
  const widths = auxiliaryWidths(config.C, config.auxiliaryScaled);
  const { network, auxiliary } = countParameters(genotype, config);
  const reductions = Array.from({ length: config.layers }, (_, i) => i).filter((i) => isReductionLayer(i, config.layers));
  process.stdout.write(
    `genotype: ${genotypeToPython(genotype)}\n` +
    `network: C=${config.C}, ${config.layers} cells (reductions at cells ${reductions.join(' and ')}), ` +
    `${config.classes} classes, ${config.inputChannels} input channels, auxiliary head after cell ${Math.floor((2 * config.layers) / 3)} (widths ${widths.hidden} and ${widths.features})\n` +
    `params: ${network}\n` +
    `auxiliary params: ${auxiliary}\n`,
  );
  return 0;
}
