// A trained network as an ONNX model: pixels in [0, 1] go in as [N, C, H, W] float32 (N dynamic),
// the normalisation is the graph's first two nodes, logits [N, classes] come out. Class names, the
// genotype, the image size and the normalisation travel in metadata_props.
import { OnnxGraph } from '../../runtime/onnx/graph.ts';
import { encodeOnnxModel } from '../../runtime/onnx/encode.ts';
import type { TrainedModel } from '../eval/modelFile.ts';
import { genotypeToPython } from '../search/genotype.ts';

export const ONNX_INPUT = 'images';
export const ONNX_OUTPUT = 'logits';

export async function exportOnnx({ net, genotype, data }: TrainedModel): Promise<Uint8Array> {
  const g = await OnnxGraph.of(net);
  const perChannel = (name: string, values: number[]) => g.constant(name, Float32Array.from(values), [1, data.channels, 1, 1]);
  const normalised = g.node('Div', [g.node('Sub', [ONNX_INPUT, perChannel('mean', data.mean)]), perChannel('std', data.std)]);
  const logits = net.toOnnx(g, normalised);
  return encodeOnnxModel({
    graph: g,
    name: 'sgas',
    input: { name: ONNX_INPUT, shape: ['N', data.channels, data.height, data.width] },
    output: { name: ONNX_OUTPUT, from: logits, shape: ['N', data.classes.length] },
    metadata: {
      classes: JSON.stringify(data.classes),
      genotype: genotypeToPython(genotype),
      image_size: `${data.height}x${data.width}`,
      channels: String(data.channels),
      mean: JSON.stringify(data.mean),
      std: JSON.stringify(data.std),
      input: 'float32 [N, C, H, W], pixels in [0, 1], RGB channel order; the graph normalises (x - mean) / std itself',
    },
  });
}
