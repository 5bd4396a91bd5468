// `sgas predict`: the classes a trained checkpoint gives images, with their probabilities. The
// checkpoint alone says how: its classes, image size, filter, channels and normalisation.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import type { DataInfo } from '../data/dataInfo.ts';
import { DatasetFileError } from '../data/dataset.ts';
import { decodeBytes, IN_FLIGHT, listFolder } from '../data/folderLoad.ts';
import { mapInFlight, type SkippedFile } from '../data/folderRead.ts';
import type { PreparedImage } from '../data/image.ts';
import { decodeFailure } from '../data/imageDecode.ts';
import { folderDataset, isImageFile } from '../data/imageFolder.ts';
import { evaluate, networkFromCheckpoint } from '../eval/train.ts';
import { rowSoftmax } from '../search/edgeDecision.ts';
import { numberFlag, numericOptions, parseFlags, POSITIVE_INTEGER, UsageError, type Range } from './args.ts';
import { checkpointFlag } from './eval.ts';

export const PREDICT_HELP = `usage: sgas predict --checkpoint FILE [--json] [--top K] IMAGE|DIR...

Prints each image's top K (default 3) classes with their probabilities, from a checkpoint.bin of
sgas train, which holds the classes, image size and normalisation. A DIR is searched for PNG and
JPEG files at any depth. A DIR laid out as class folders named after the checkpoint's classes is
labelled: each line shows the label and the summary the accuracy.
--json prints one line per image: {"file", "probs" (one per class, in label order), "top"
([class, probability] pairs)}, and "label" for labelled folders.
Images that cannot be decoded are skipped and listed; the exit status is then 1.
`;

/** Images handed to the network at once: decoded, predicted, printed, then let go. */
const CHUNK = 256;

interface Input {
  file: string;
  /** The class index from a labelled folder, or null. */
  label: number | null;
}

/** The range of every numeric flag of sgas predict, by flag name. */
export const PREDICT_FLAG_RANGES = { top: POSITIVE_INTEGER } satisfies Record<string, Range>;

export async function predictCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values, positionals } = parseFlags('predict', argv, {
    ...numericOptions(PREDICT_FLAG_RANGES), checkpoint: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(PREDICT_HELP);
    return 0;
  }
  const top = numberFlag('top', values.top, 3, PREDICT_FLAG_RANGES.top);
  const { path, checkpoint } = checkpointFlag('predict', values.checkpoint);
  if (!positionals.length) throw new UsageError('predict: name at least one IMAGE or DIR');
  const info = checkpoint.state.dataInfo;
  const inputs = positionals.flatMap((arg) => inputsOf(arg, info));
  if (!inputs.length) throw new UsageError(`predict: no PNG or JPEG image in ${positionals.join(', ')}`);

  const trained = networkFromCheckpoint(await backend(), checkpoint, path);
  const skipped: SkippedFile[] = [];
  let labelled = 0;
  let correct = 0;
  try {
    for (let start = 0; start < inputs.length; start += CHUNK) {
      const chunk = inputs.slice(start, start + CHUNK);
      const decoded = await mapInFlight(chunk, IN_FLIGHT, async ({ file }) => {
        try {
          return await decodeBytes(await readFile(file), info.imageSize, info.resize);
        } catch (e) {
          return { error: decodeFailure(e) };
        }
      });
      const ok: Input[] = [];
      const images: PreparedImage[] = [];
      decoded.forEach((d, i) => ('error' in d ? skipped.push({ file: chunk[i]!.file, reason: d.error }) : (ok.push(chunk[i]!), images.push(d.image))));
      if (!ok.length) continue;
      const data = folderDataset({
        name: 'predict', classes: info.classes, files: ok.map((f) => ({ path: f.file, label: f.label ?? 0 })), images,
        size: info.imageSize, channels: info.channels, resize: info.resize, split: info.split, stats: info,
      });
      // Unlabelled images go in as class 0: evaluate's loss and accuracy are only read for labelled ones.
      await evaluate(trained.net, data, trained.config.batchSize, (first, logits) => {
        const rows = Array.from({ length: logits.length / info.classes.length }, (_, r) => Array.from(logits.subarray(r * info.classes.length, (r + 1) * info.classes.length)));
        rowSoftmax(rows).forEach((probs, r) => {
          const input = ok[first + r]!;
          const ranked = probs.map((p, k) => [info.classes[k]!, p] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, top);
          if (input.label !== null) {
            labelled++;
            if (info.classes[input.label] === ranked[0]![0]) correct++;
          }
          const label = input.label === null ? {} : { label: info.classes[input.label] };
          process.stdout.write(values.json
            ? JSON.stringify({ file: input.file, probs, top: ranked, ...label }) + '\n'
            : `${input.file}  ${ranked.map(([c, p]) => `${c} ${(100 * p).toFixed(1)}%`).join('  ')}${input.label === null ? '' : `  (label ${info.classes[input.label]})`}\n`);
        });
      });
    }
  } finally {
    trained.net.release();
  }
  const predicted = inputs.length - skipped.length;
  process.stderr.write(
    `predicted ${predicted} image${predicted === 1 ? '' : 's'} with ${path} (${info.classes.length} classes, ${info.imageSize.join('×')}, ${info.channels} channel${info.channels > 1 ? 's' : ''})` +
    (labelled ? `; accuracy ${(100 * correct / labelled).toFixed(2)}% (${correct}/${labelled} labelled)` : '') +
    (skipped.length ? `; skipped ${skipped.length}: ${skipped.map((s) => `${s.file} (${s.reason})`).join('; ')}` : '') + '\n',
  );
  return skipped.length ? 1 : 0;
}

/** The images an argument names: the file itself, or every image under a folder, labelled where its folders are classes. */
function inputsOf(arg: string, info: DataInfo): Input[] {
  if (!existsSync(arg)) throw new UsageError(`predict: ${arg}: no such file or folder`);
  if (!statSync(arg).isDirectory()) return [{ file: arg, label: null }];
  const entries = listFolder(arg);
  const images = entries.filter((p) => !p.endsWith('/') && isImageFile(p));
  const folders = [...new Set(images.filter((p) => p.includes('/')).map((p) => p.slice(0, p.indexOf('/'))))].sort();
  const isLabelled = images.every((p) => p.includes('/')) && folders.some((f) => info.classes.includes(f));
  if (isLabelled) {
    const unknown = folders.filter((f) => !info.classes.includes(f));
    if (unknown.length) {
      throw new DatasetFileError(arg, `its class folders [${folders.join(', ')}] are not all among the checkpoint's classes [${info.classes.join(', ')}]`,
        'rename or remove the other folders, or predict on a folder of unlabelled images');
    }
  }
  return images.sort().map((p) => ({ file: join(arg, p), label: isLabelled ? info.classes.indexOf(p.slice(0, p.indexOf('/'))) : null }));
}
