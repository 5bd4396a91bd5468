// The embedded Fashion-MNIST for the page, its training split (and the test split for a sweep's trainings): fetched from the server's /data/
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

const loaded: Partial<Record<'train' | 'test', Promise<Dataset>>> = {};

/** A split of the embedded data, loaded once per page; a failed load is retried on the next call. */
function embedded(split: 'train' | 'test'): Promise<Dataset> {
  const loading = loaded[split] ??= (async () => {
    const files = embeddedFiles(split);
    const [images, labels] = await Promise.all([fetchBytes(`data/${files.images}`), fetchBytes(`data/${files.labels}`)]);
    return embeddedDataset(split, { images, labels }, gunzip);
  })();
  loading.catch(() => delete loaded[split]);
  return loading;
}

export const trainingData = () => embedded('train');
/** The test split, for a sweep's trainings. */
export const testData = () => embedded('test');
