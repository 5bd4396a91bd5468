// One decoded image to the network's pixels (the steps DataInfo states), free of Node APIs: the
// CLI decodes with pngjs and sharp, the page with createImageBitmap, the inference API takes the
// caller's pixels, and all hand them here.
import { resample, type ResizeFilter } from './resample.ts';

/** 8-bit pixels, interleaved: 1 (gray), 3 (RGB) or 4 (RGBA) values per pixel, rows top to bottom. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** An image at the run's size: one plane if grayscale, else three (R, G, B), 8-bit. */
export interface PreparedImage {
  gray: boolean;
  pixels: Uint8Array;
}

/** A file as a run takes it: its original size and its image at the run's size, or why it is no image. */
export type Decoded = { width: number; height: number; image: PreparedImage } | { error: string };

/** A decoded image at the run's size, with its original size. */
export function decodedImage(raw: RawImage, size: readonly [number, number], filter: ResizeFilter): Decoded {
  return { width: raw.width, height: raw.height, image: prepareImage(raw, size, filter) };
}

/** Grayscale: R = G = B at every pixel, whatever the file format called it. */
function isGray(image: RawImage): boolean {
  const { data, channels } = image;
  if (channels === 1) return true;
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

/** Alpha dropped, grayscale told apart, each plane resized to height × width and rounded to 8 bits. */
export function prepareImage(image: RawImage, [height, width]: readonly [number, number], filter: ResizeFilter): PreparedImage {
  const gray = isGray(image);
  const planes = gray ? 1 : 3;
  const pixels = new Uint8Array(planes * height * width);
  if (height === image.height && width === image.width) {
    // Both filters leave an image at its own size as it is: the planes are the pixels.
    const plane = height * width;
    for (let c = 0; c < planes; c++) {
      for (let p = 0; p < plane; p++) pixels[c * plane + p] = image.data[p * image.channels + c]!;
    }
    return { gray, pixels };
  }
  const layout = { planes, height: image.height, width: image.width, planeStride: 1, pixelStride: image.channels };
  const resized = resample(image.data, layout, height, width, filter);
  for (let i = 0; i < resized.length; i++) pixels[i] = Math.round(resized[i]!);
  return { gray, pixels };
}

/** The image's planes for a network of `channels` (1 or 3): luma from colour, a gray plane repeated. */
export function imagePlanes(image: PreparedImage, channels: number): Uint8Array {
  if (image.gray === (channels === 1)) return image.pixels;
  const plane = image.gray ? image.pixels.length : image.pixels.length / 3;
  const out = new Uint8Array(plane * channels);
  if (image.gray) {
    for (let c = 0; c < channels; c++) out.set(image.pixels, c * plane);
    return out;
  }
  const p = image.pixels;
  // ITU-R BT.601 luma, as PIL's convert('L') and most grayscale conversions.
  for (let i = 0; i < plane; i++) out[i] = Math.round(0.299 * p[i]! + 0.587 * p[plane + i]! + 0.114 * p[2 * plane + i]!);
  return out;
}
