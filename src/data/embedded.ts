// The embedded Fashion-MNIST subset for the browser: the page fetches the .gz files and
// passes a gunzip, e.g. one built on DecompressionStream('gzip').

import { DatasetFileError, type Dataset, type Split } from './dataset.ts';
import { FASHION_MNIST_FILES, fashionMnistDataset } from './idx.ts';

export type Gunzip = (gz: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** The .gz file names to fetch from data/fashion-mnist/ for a split. */
export function embeddedFiles(split: Split): { images: string; labels: string } {
  const f = FASHION_MNIST_FILES[split];
  return { images: `${f.images}.gz`, labels: `${f.labels}.gz` };
}

export async function embeddedDataset(
  split: Split,
  gz: { images: Uint8Array; labels: Uint8Array },
  gunzip: Gunzip,
): Promise<Dataset> {
  const names = embeddedFiles(split);
  const open = async (file: string, bytes: Uint8Array) => {
    try {
      return { file, bytes: await gunzip(bytes) };
    } catch (e) {
      throw new DatasetFileError(file, `not a valid gzip file (${(e as Error).message})`, 're-fetch it');
    }
  };
  return fashionMnistDataset(await open(names.images, gz.images), await open(names.labels, gz.labels), split);
}
