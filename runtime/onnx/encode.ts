// An OnnxGraph as ONNX model bytes (IR version 8, opset 17), through onnx-proto: the official
// onnx.proto compiled by protobufjs, so the wire format is the library's, not ours.
import onnxProto from 'onnx-proto';
import type { OnnxAttribute, OnnxGraph } from './graph.ts';

const { onnx } = onnxProto;

export const ONNX_OPSET = 17;
const IR_VERSION = 8;

/** A graph input or output: its name and shape, a string for a dynamic dimension ("N"); no shape: unknown. */
export interface OnnxValue {
  name: string;
  shape?: (number | string)[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  name: string;
  input: OnnxValue;
  /** `from` is the graph value the output takes its name over from. */
  output: OnnxValue & { from: string };
  metadata: Record<string, string>;
}

export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const { from } = model.output;
  // A graph whose output is its input (an identity op) needs a node to produce the output.
  const nodes = model.graph.nodes.some((n) => n.output === from)
    ? model.graph.nodes
    : [...model.graph.nodes, { op: 'Identity', name: 'Identity_out', inputs: [from], output: from, attributes: {} }];
  const rename = (value: string, asOutput: boolean) => (asOutput && value === from ? model.output.name : value);
  const graph = onnx.GraphProto.create({
    name: model.name,
    node: nodes.map((n) => onnx.NodeProto.create({
      opType: n.op, name: n.name, input: n.inputs.map((i) => rename(i, i !== model.input.name)), output: [rename(n.output, true)],
      attribute: Object.entries(n.attributes).map(([name, value]) => attribute(name, value)),
    })),
    initializer: model.graph.initializers.map((t) => onnx.TensorProto.create({
      name: t.name, dims: t.dims,
      dataType: t.values instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
      rawData: littleEndianBytes(t.values),
    })),
    input: [valueInfo(model.input)],
    output: [valueInfo(model.output)],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'sgas-webgpu',
    graph,
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  })).finish();
}

function attribute(name: string, value: OnnxAttribute) {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INT, i: value };
}

function valueInfo({ name, shape }: OnnxValue) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: shape && { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** ONNX raw_data is little-endian whatever the host; typed arrays are in the host's order. */
function littleEndianBytes(values: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  if (values instanceof Float32Array) values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return bytes;
}
