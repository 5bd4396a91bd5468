// `sgas export`: a trained network out of this tool, from a training checkpoint: as ONNX (opset 17,
// for ONNX Runtime and every tool that reads ONNX) or as one .sgas file the inference API loads.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { ONNX_OPSET } from '../../runtime/onnx/encode.ts';
import { encodeModelFile, trainedModel, type TrainedModel } from '../eval/modelFile.ts';
import { savedNetwork } from '../eval/train.ts';
import { exportOnnx } from '../export/onnx.ts';
import { parseFlags, UsageError } from './args.ts';
import { checkpointFlag } from './eval.ts';
import { writeFileAtomic, WriteError } from './files.ts';

const FORMATS: Record<string, { extension: string; encode: (model: TrainedModel) => Promise<Uint8Array>; what: string }> = {
  onnx: { extension: 'onnx', encode: exportOnnx, what: `ONNX opset ${ONNX_OPSET}` },
  sgas: { extension: 'sgas', encode: encodeModelFile, what: 'sgas model (loadModel from sgas-webgpu/infer)' },
};

export const EXPORT_HELP = `usage: sgas export --checkpoint FILE [--format onnx|sgas] [--out FILE]

Exports the trained network of a checkpoint.bin written by sgas train (or the checkpoint.prev.bin
beside it, when it is damaged), in evaluation mode (no auxiliary head, no drop path), with its data
record: class names, image size, resize filter and normalisation.
  --format onnx   (default) ONNX opset ${ONNX_OPSET}: input "images" float32 [N, C, H, W], pixels in [0, 1]
                  (the graph normalises), output "logits" [N, classes]; metadata_props hold the class
                  names, the genotype, the image size, the resize filter and the normalisation
  --format sgas   one file for the inference API: import { loadModel } from 'sgas-webgpu/infer'
  --out FILE      default: model.onnx or model.sgas beside the checkpoint
`;

export async function exportCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values, positionals } = parseFlags('export', argv, {
    checkpoint: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`export: unexpected argument '${positionals[0]}' (see sgas export --help)`);
  const formatName = values.format ?? 'onnx';
  const format = Object.hasOwn(FORMATS, formatName) ? FORMATS[formatName]! : null;
  if (!format) throw new UsageError(`--format ${formatName}: unknown format (formats: ${Object.keys(FORMATS).join(', ')})`);
  const { path, checkpoint } = checkpointFlag('export', values.checkpoint);
  const out = values.out ?? join(dirname(path), `model.${format.extension}`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder; name the file to write`);

  const model = trainedModel(await backend(), savedNetwork(checkpoint), path);
  try {
    const bytes = await format.encode(model);
    try {
      writeFileAtomic(out, bytes);
    } catch (e) {
      throw e instanceof WriteError ? new WriteError(`${e.message}; choose a writable --out`) : e;
    }
    const { classes, channels, imageSize: [height, width] } = model.dataInfo;
    process.stdout.write(
      `wrote ${out}: ${format.what}, ${(bytes.length / 1e6).toFixed(2)} MB; input [N, ${channels}, ${height}, ${width}] ` +
      `pixels in [0, 1], output [N, ${classes.length}] logits for ${classes.join(', ')}\n`,
    );
    return 0;
  } finally {
    model.net.release();
  }
}
