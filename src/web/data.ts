// The embedded Fashion-MNIST training split for the page: fetched from the server's /data/
// (sgas serve maps it to data/fashion-mnist) and gunzipped by the browser's DecompressionStream.
import type { Dataset } from '../data/dataset.ts';
import { embeddedDataset, embeddedFiles } from '../data/embedded.ts';

async function gunzip(gz: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([gz as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}; serve the page with sgas serve, which maps /data/ to data/fashion-mnist`);
  return new Uint8Array(await response.arrayBuffer());
}

let training: Promise<Dataset> | null = null;

/** Loaded once per page; a failed load is retried on the next call. */
export function trainingData(): Promise<Dataset> {
  training ??= (async () => {
    const files = embeddedFiles('train');
    const [images, labels] = await Promise.all([fetchBytes(`data/${files.images}`), fetchBytes(`data/${files.labels}`)]);
    return embeddedDataset('train', { images, labels }, gunzip);
  })();
  training.catch(() => (training = null));
  return training;
}
