// ONNX Runtime (onnxruntime-node, CPU) as the independent reader of what the exporter writes, and the
// official schema (onnx-proto) to read its fields back.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

/** Runs a one-input, one-output model and returns the output's values and dims. */
export async function runOnnx(model: Uint8Array, input: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  try {
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, shape) });
    const out = result[session.outputNames[0]!]!;
    return { data: out.data as Float32Array, dims: out.dims };
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The model's protobuf message, decoded by the official schema. */
export function decodeOnnx(model: Uint8Array) {
  return onnxProto.onnx.ModelProto.decode(model);
}
