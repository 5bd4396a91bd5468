// Image-folder datasets, the layout of torchvision's ImageFolder and Keras'
// image_dataset_from_directory: DIR/<class>/<image>, or DIR/train/<class>/... beside
// DIR/test/<class>/... (val/ is taken as the test name). Class names are the sorted folder names;
// labels follow that order. Free of Node APIs: the CLI lists files with fs, the page from a
// directory input, and both hand the relative paths here.
import { Rng } from '../../runtime/rng.ts';
import type { SplitRule } from './dataInfo.ts';
import { channelStats, DatasetFileError, normalise, type ChannelStats, type Dataset } from './dataset.ts';
import { imagePlanes, type PreparedImage } from './image.ts';
import type { ResizeFilter } from './resample.ts';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export function isImageFile(path: string): boolean {
  const lower = path.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Hidden entries (.DS_Store, .git, macOS's ._ twins of images) and zip's __MACOSX belong to no class. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX';
}

export interface LabelledFile {
  /** Relative to the folder, '/'-separated. */
  path: string;
  label: number;
}

export interface FolderLayout {
  classes: string[];
  train: LabelledFile[];
  /** The folder's own test images (test/ or val/), or null: split them off the rest. */
  test: LabelledFile[] | null;
  /** Files that are not PNG or JPEG images, relative paths. */
  ignored: string[];
  /** What was left out on purpose, for the summary. */
  notes: string[];
}

const TEST_FOLDERS = ['test', 'val'];

/**
 * The classes and labelled images of a folder from the relative paths of everything in it
 * (folders end with '/', so that an empty class folder is seen). Fails, naming the folder, when
 * there are fewer than 2 classes, a class holds no image, or images lie outside class folders.
 */
export function folderLayout(root: string, entries: readonly string[]): FolderLayout {
  const visible = entries.filter((p) => !p.split('/').some((segment) => segment && isIgnoredName(segment)));
  const tops = new Set(visible.filter((p) => p.includes('/')).map((p) => p.slice(0, p.indexOf('/'))));
  const notes: string[] = [];
  const ignored = visible.filter((p) => !p.endsWith('/') && !isImageFile(p));
  if (!tops.has('train')) {
    const { classes, files } = classFolders(root, '', visible);
    return { classes, train: files, test: null, ignored, notes };
  }
  const testName = TEST_FOLDERS.find((name) => tops.has(name)) ?? null;
  const others = [...tops].filter((name) => name !== 'train' && name !== testName);
  if (others.length) notes.push(`${others.map((o) => `${o}/`).join(', ')} left out (train/ and ${testName ?? 'test'}/ are the splits)`);
  const train = classFolders(root, 'train/', visible);
  if (!testName) return { classes: train.classes, train: train.files, test: null, ignored, notes };
  const test = classFolders(root, `${testName}/`, visible, train.classes);
  return { classes: train.classes, train: train.files, test: test.files, ignored, notes };
}

/** The class folders directly under `prefix` and the images in each (at any depth), sorted. */
function classFolders(root: string, prefix: string, entries: readonly string[], known?: string[]): { classes: string[]; files: LabelledFile[] } {
  const where = `${root.replace(/\/+$/, '')}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
  const inside = entries.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  const loose = inside.filter((p) => !p.includes('/') && isImageFile(p));
  if (loose.length) {
    throw new DatasetFileError(where, `${loose.length} image${loose.length > 1 ? 's lie' : ' lies'} outside class folders (${loose.slice(0, 3).join(', ')})`,
      'put each image in a folder named after its class: DIR/<class>/<image>');
  }
  const classes = [...new Set(inside.filter((p) => p.includes('/')).map((p) => p.slice(0, p.indexOf('/'))))].sort();
  if (known) {
    const unknown = classes.filter((c) => !known.includes(c));
    if (unknown.length) {
      throw new DatasetFileError(where, `its classes [${classes.join(', ')}] differ from train/'s [${known.join(', ')}]`, 'give both splits the same class folders');
    }
  } else if (classes.length < 2) {
    throw new DatasetFileError(where, `${classes.length ? `one class folder (${classes[0]})` : 'no class folders'} found, a classifier needs at least 2`,
      'lay the images out as DIR/<class>/<image>, one folder per class');
  }
  const labels = known ?? classes;
  const byClass = new Map<string, string[]>(classes.map((c) => [c, []]));
  for (const p of inside) if (p.includes('/') && isImageFile(p)) byClass.get(p.slice(0, p.indexOf('/')))!.push(p);
  const files: LabelledFile[] = [];
  for (const [name, images] of byClass) {
    if (!images.length && !known) throw new DatasetFileError(`${where}/${name}`, 'holds no PNG or JPEG image', 'add images to this class or remove its folder');
    const label = labels.indexOf(name);
    for (const path of images.sort()) files.push({ path: prefix + path, label });
  }
  return { classes: labels, files };
}

/**
 * A seeded stratified split: from each class, round(portion · count) images (at least one and at
 * most all but one, where the class has two) go to the test part. Both parts come out shuffled, so
 * that a first-N subset holds every class. Same files and rule, same parts.
 */
export function stratifiedSplit(files: readonly LabelledFile[], classes: number, rule: { testPortion: number; seed: number }): { train: LabelledFile[]; test: LabelledFile[] } {
  const rng = new Rng(rule.seed);
  const train: LabelledFile[] = [];
  const test: LabelledFile[] = [];
  for (const members of byLabel(files, classes)) {
    const n = members.length;
    const share = Math.min(n - 1, Math.max(n >= 2 ? 1 : 0, Math.round(rule.testPortion * n)));
    const order = rng.permutation(n);
    order.forEach((i, k) => (k < share ? test : train).push(members[i]!));
  }
  return { train: shuffled(train, rng), test: shuffled(test, rng) };
}

/** The files of each class, in their order. */
export function byLabel(files: readonly LabelledFile[], classes: number): LabelledFile[][] {
  const groups = Array.from({ length: classes }, (): LabelledFile[] => []);
  for (const f of files) groups[f.label]!.push(f);
  return groups;
}

/** The files in a seeded random order (a folder's own splits, so that first-N subsets mix classes). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  return Array.from(rng.permutation(items.length), (i) => items[i]!);
}

const MAX_OWN_SIZE = 64;
export const DEFAULT_IMAGE_SIZE = 32;

/**
 * The side to resize to when none is given: the images' own, when all share one square size of at
 * most 64 that two reductions can halve (a multiple of 4), else 32. Also says why, for the summary.
 */
export function defaultImageSize(sizes: Iterable<{ width: number; height: number }>): { size: number; own: boolean; why: string } {
  const fallback = (why: string) => ({ size: DEFAULT_IMAGE_SIZE, own: false, why });
  let shared: number | null = null;
  for (const { width, height } of sizes) {
    if (width !== height || (shared !== null && width !== shared)) return fallback('the images differ in size or are not square');
    shared = width;
  }
  if (shared === null) return fallback('no image to measure');
  if (shared > MAX_OWN_SIZE) return fallback(`the images are ${shared}×${shared}, above ${MAX_OWN_SIZE}`);
  if (shared % 4) return fallback(`the images' ${shared}×${shared} is not a multiple of 4`);
  return { size: shared, own: true, why: "the images' own size" };
}

export interface FolderPart {
  name: string;
  classes: readonly string[];
  files: readonly LabelledFile[];
  images: readonly PreparedImage[];
  size: readonly [number, number];
  channels: number;
  resize: ResizeFilter;
  split: SplitRule | null;
  /** The training part's statistics; omitted for the training part itself, which computes them. */
  stats?: ChannelStats;
}

/** A Dataset from prepared images: planes for the run's channels, then normalised. */
export function folderDataset(part: FolderPart): Dataset {
  const [height, width] = part.size;
  const shape = { n: part.files.length, channels: part.channels, height, width };
  const per = part.channels * height * width;
  const pixels = new Uint8Array(shape.n * per);
  part.images.forEach((image, i) => pixels.set(imagePlanes(image, part.channels), i * per));
  const stats = part.stats ?? channelStats(pixels, shape);
  return {
    ...shape,
    images: normalise(pixels, shape, stats),
    labels: Uint16Array.from(part.files, (f) => f.label),
    classes: part.classes,
    stats,
    resize: part.resize,
    split: part.split,
    name: part.name,
    files: part.files.map((f) => f.path),
  };
}
