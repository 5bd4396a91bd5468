// A trained network as an ONNX model: pixels in [0, 1] go in as [N, C, H, W] float32 (N dynamic),
// the normalisation is the graph's first two nodes, logits [N, classes] come out. The data record
// (class names, image size, resize filter, normalisation) and the genotype travel in metadata_props.
import { OnnxGraph } from '../../runtime/onnx/graph.ts';
import { encodeOnnxModel } from '../../runtime/onnx/encode.ts';
import type { TrainedModel } from '../eval/modelFile.ts';
import { genotypeToPython } from '../search/genotype.ts';

export const ONNX_INPUT = 'images';
export const ONNX_OUTPUT = 'logits';

export async function exportOnnx({ net, genotype, dataInfo }: TrainedModel): Promise<Uint8Array> {
  const { classes, channels, imageSize: [height, width], mean, std, resize } = dataInfo;
  const g = await OnnxGraph.of(net);
  const perChannel = (name: string, values: number[]) => g.constant(name, Float32Array.from(values), [1, channels, 1, 1]);
  const normalised = g.node('Div', [g.node('Sub', [ONNX_INPUT, perChannel('mean', mean)]), perChannel('std', std)]);
  const logits = net.toOnnx(g, normalised);
  return encodeOnnxModel({
    graph: g,
    name: 'sgas',
    input: { name: ONNX_INPUT, shape: ['N', channels, height, width] },
    output: { name: ONNX_OUTPUT, from: logits, shape: ['N', classes.length] },
    metadata: {
      classes: JSON.stringify(classes),
      genotype: genotypeToPython(genotype),
      image_size: `${height}x${width}`,
      channels: String(channels),
      mean: JSON.stringify(mean),
      std: JSON.stringify(std),
      resize,
      input: `float32 [N, C, H, W], pixels in [0, 1], RGB channel order (1 channel: luma 0.299 R + 0.587 G + 0.114 B), ` +
        `resized to ${height}x${width} with the '${resize}' filter as in training; the graph normalises (x - mean) / std itself`,
    },
  });
}
