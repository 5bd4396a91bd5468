// Images as a network takes them: whatever the caller holds (a page's ImageData, ImageBitmap, <img>
// or canvas; anywhere, interleaved pixels) to [C, H, W] floats at the network's size, normalised
// as its training data was: the very steps DataInfo states, by the code that prepared the training
// images and that sgas predict runs, so a picture gets the same probabilities here as there.
import type { DataInfo } from '../data/dataInfo.ts';
import { normalise } from '../data/dataset.ts';
import { imagePlanes, prepareImage, type RawImage } from '../data/image.ts';

/**
 * Interleaved pixels, row by row (as ImageData holds them): bytes 0–255 (Uint8Array,
 * Uint8ClampedArray) or floats in [0, 1] (Float32Array), which are taken at 8 bits, round(x · 255),
 * as a decoded image file holds them; 1 (gray), 3 (RGB) or 4 (RGBA, alpha ignored) channels.
 */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** What a page can draw: an ImageBitmap, an <img>, a canvas, an OffscreenCanvas, a video frame. */
export type DrawableImage = CanvasImageSource;

export type ImageInput = PixelImage | ImageData | DrawableImage;

export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

/** The image's pixels, drawing it first where the page holds it as something drawable. */
export function pixelsOf(image: ImageInput): PixelImage {
  if (isPixelData(image)) {
    const { data, width, height } = image;
    const channels = 'channels' in image && image.channels !== undefined ? image.channels : 4;
    if (![1, 3, 4].includes(channels)) throw new ImageInputError(`an image has ${channels} channels; give 1 (gray), 3 (RGB) or 4 (RGBA)`);
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new ImageInputError(`an image is ${width}×${height}; width and height must be positive integers`);
    }
    if (data.length !== width * height * channels) {
      throw new ImageInputError(`an image of ${width}×${height}×${channels} needs ${width * height * channels} values, got ${data.length}`);
    }
    return { data, width, height, channels: channels as PixelImage['channels'] };
  }
  return drawn(image);
}

function isPixelData(image: ImageInput): image is PixelImage | ImageData {
  return typeof image === 'object' && image !== null && 'data' in image && ArrayBuffer.isView((image as { data: unknown }).data);
}

function drawn(image: DrawableImage): PixelImage {
  const size = image as { naturalWidth?: number; naturalHeight?: number; displayWidth?: number; displayHeight?: number; width?: number | SVGAnimatedLength; height?: number | SVGAnimatedLength };
  const width = size.naturalWidth || size.displayWidth || Number(size.width);
  const height = size.naturalHeight || size.displayHeight || Number(size.height);
  if (typeof OffscreenCanvas === 'undefined') {
    throw new ImageInputError('this host cannot draw images (no OffscreenCanvas); pass { data, width, height, channels } pixels instead');
  }
  if (!(width > 0 && height > 0)) throw new ImageInputError('the image has no size yet; await img.decode() before predicting');
  const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new ImageInputError('no 2D canvas context to draw the image in');
  context.drawImage(image, 0, 0, width, height);
  return { data: context.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

/**
 * The pixels as the 8-bit values a decoded image file holds: bytes as they are, floats in [0, 1]
 * taken at 8 bits, round(x · 255), so a float picture and its bytes are one input.
 */
function eightBit({ data, width, height, channels }: PixelImage): RawImage {
  if (!(data instanceof Float32Array)) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels };
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i]! * 255);
    if (!(v >= 0 && v <= 255)) throw new ImageInputError(`float pixels must lie in [0, 1], but value ${i} is ${data[i]}; give bytes 0–255 as a Uint8Array`);
    bytes[i] = v;
  }
  return { data: bytes, width, height, channels };
}

/**
 * Writes one image as the network's normalised [C, H, W] input into `out`: alpha dropped, resized
 * with the record's filter and rounded to 8 bits, gray or luma planes as the network takes them,
 * then (p / 255 − mean) / std.
 */
export function writeNetworkInput(image: PixelImage, info: DataInfo, out: Float32Array): void {
  const [height, width] = info.imageSize;
  const planes = imagePlanes(prepareImage(eightBit(image), info.imageSize, info.resize), info.channels);
  out.set(normalise(planes, { n: 1, channels: info.channels, height, width }, info));
}
