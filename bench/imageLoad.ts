// Loading image folders (issue goals: 10,000 PNGs of 28×28 in at most 10 s without the decoded-image
// cache and 1 s with it; 2,000 JPEGs of 256×256 resized to 32 in at most 15 s without it), timed as
// a run loads them: list, split, decode or read the cache, normalise. The folders are written first
// (not timed) into a temporary directory by sharp, from the embedded Fashion-MNIST: the PNGs as they
// are, the JPEGs enlarged and tinted. "Cold" means an empty cache; the files themselves are in the
// OS page cache, having just been written.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageFolder } from '../src/data/folderLoad.ts';
import { FASHION_MNIST_CLASSES } from '../src/data/idx.ts';
import { embeddedImages, pngBytes } from '../test/helpers/imageFolders.ts';

export const IMAGE_SETS = ['png', 'jpeg'] as const;
export type ImageSet = (typeof IMAGE_SETS)[number];

export interface ImageLoadResult {
  set: string;
  images: number;
  coldSeconds: number;
  cachedSeconds: number;
  /** CPU seconds of the process, all threads: what the load average does not stretch. */
  coldCpuSeconds: number;
  cachedCpuSeconds: number;
  goal: { coldSeconds: number; cachedSeconds?: number };
  /** 1-minute load average before and after: the machine is shared. */
  load: [number, number];
}

/** Each embedded image's class folder: its Fashion-MNIST name, made folder-safe. */
const folderOf = (label: number) => FASHION_MNIST_CLASSES[label]!.replace('/', '-');

async function writePngs(root: string): Promise<number> {
  const images = embeddedImages();
  for (let start = 0; start < images.length; start += 64) {
    await Promise.all(images.slice(start, start + 64).map(async (s, k) => {
      const dir = join(root, folderOf(s.label));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${start + k}.png`), await pngBytes(s.pixels, 1));
    }));
  }
  return images.length;
}

async function writeJpegs(root: string): Promise<number> {
  const images = embeddedImages().slice(0, 2000);
  for (let start = 0; start < images.length; start += 64) {
    await Promise.all(images.slice(start, start + 64).map(async (s, k) => {
      const i = start + k;
      const dir = join(root, folderOf(s.label));
      mkdirSync(dir, { recursive: true });
      // A tint per class, so the folder is colour.
      const tint = [1, 0.3 + 0.07 * s.label, 1 - 0.07 * s.label];
      const rgb = Buffer.alloc(784 * 3);
      s.pixels.forEach((p, j) => tint.forEach((t, c) => (rgb[3 * j + c] = Math.round(p * t))));
      const jpeg = await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).resize(256, 256).jpeg({ quality: 90, progressive: i % 2 === 0 }).toBuffer();
      writeFileSync(join(dir, `${i}.jpg`), jpeg);
    }));
  }
  return images.length;
}

const SETS: Record<ImageSet, { what: string; write: (root: string) => Promise<number>; imageSize?: number; goal: ImageLoadResult['goal'] }> = {
  png: { what: '28×28 grayscale PNGs at their own size', write: writePngs, goal: { coldSeconds: 10, cachedSeconds: 1 } },
  jpeg: { what: '256×256 RGB JPEGs (half progressive) resized to 32×32', write: writeJpegs, imageSize: 32, goal: { coldSeconds: 15 } },
};

export async function benchImageLoading(sets: readonly ImageSet[], log: (line: string) => void): Promise<ImageLoadResult[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'sgas-bench-images-'));
  const cacheBefore = process.env.SGAS_CACHE_DIR;
  process.env.SGAS_CACHE_DIR = join(scratch, 'cache');
  const results: ImageLoadResult[] = [];
  try {
    log(`\nImage folders, loaded as sgas search/train load them (list, split, decode or cache, normalise); cold = empty decoded-image cache, files in the OS page cache`);
    for (const name of sets) {
      const set = SETS[name];
      const root = join(scratch, name);
      const images = await set.write(root);
      const before = loadavg()[0]!;
      const time = async () => {
        const started = performance.now();
        const cpu = process.cpuUsage();
        const loaded = await loadImageFolder(root, { imageSize: set.imageSize, resize: 'area', testPortion: 0.2, splitSeed: 0, parts: { train: 0, test: 0 }, cache: true });
        if (loaded.train!.n + loaded.test!.n !== images) throw new Error(`${name}: loaded ${loaded.train!.n + loaded.test!.n} of ${images} images`);
        const used = process.cpuUsage(cpu);
        return [(performance.now() - started) / 1000, (used.user + used.system) / 1e6];
      };
      const [coldSeconds, coldCpuSeconds] = await time();
      const [cachedSeconds, cachedCpuSeconds] = await time();
      const result: ImageLoadResult = {
        set: `${images} ${set.what}`, images, coldSeconds: coldSeconds!, cachedSeconds: cachedSeconds!, coldCpuSeconds: coldCpuSeconds!, cachedCpuSeconds: cachedCpuSeconds!,
        goal: set.goal, load: [before, loadavg()[0]!],
      };
      results.push(result);
      const goal = `goal ≤ ${set.goal.coldSeconds} s cold${set.goal.cachedSeconds ? `, ≤ ${set.goal.cachedSeconds} s cached` : ''}`;
      log(`${result.set}: ${coldSeconds!.toFixed(2)} s cold (CPU ${coldCpuSeconds!.toFixed(2)} s), ${cachedSeconds!.toFixed(2)} s from the cache (CPU ${cachedCpuSeconds!.toFixed(2)} s); ` +
        `${goal}; load average ${result.load.map((l) => l.toFixed(1)).join(' → ')}`);
    }
    return results;
  } finally {
    if (cacheBefore === undefined) delete process.env.SGAS_CACHE_DIR;
    else process.env.SGAS_CACHE_DIR = cacheBefore;
    rmSync(scratch, { recursive: true, force: true });
  }
}
