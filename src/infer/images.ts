// Images as a network takes them: whatever the caller holds (a page's ImageData, ImageBitmap, <img>
// or canvas; anywhere, interleaved pixels) to [C, H, W] floats at the network's size, normalised
// as its training data was. The same arithmetic as the training pipeline: pixels to [0, 1],
// bilinear resize, (x − mean) / std.
import { resizePlanes } from '../data/transforms.ts';
import type { ModelDataInfo } from '../eval/modelData.ts';

/**
 * Interleaved pixels, row by row (as ImageData holds them): bytes 0–255 (Uint8Array,
 * Uint8ClampedArray) or floats in [0, 1] (Float32Array); 1 (gray), 3 (RGB) or 4 (RGBA) channels.
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

/** Writes one image as the network's normalised [C, H, W] input into `out`. */
export function writeNetworkInput(image: PixelImage, info: ModelDataInfo, out: Float32Array): void {
  const { data, width, height, channels } = image;
  const scale = data instanceof Float32Array ? 1 : 1 / 255;
  const plane = width * height;
  const planes = new Float32Array(info.channels * plane);
  for (let p = 0; p < plane; p++) {
    const at = p * channels;
    if (channels === 1) {
      for (let c = 0; c < info.channels; c++) planes[c * plane + p] = data[at]! * scale;
    } else if (info.channels === 1) {
      // ITU-R BT.601 luma, as PIL's convert('L'): gray images given as RGB(A) come through unchanged.
      planes[p] = (0.299 * data[at]! + 0.587 * data[at + 1]! + 0.114 * data[at + 2]!) * scale;
    } else {
      for (let c = 0; c < 3; c++) planes[c * plane + p] = data[at + c]! * scale;
    }
  }
  const resized = width === info.width && height === info.height ? planes : resizePlanes(planes, info.channels, height, width, info.height, info.width);
  const size = info.height * info.width;
  for (let c = 0; c < info.channels; c++) {
    const [mean, std] = [info.mean[c]!, info.std[c]!];
    for (let i = c * size; i < (c + 1) * size; i++) out[i] = (resized[i]! - mean) / std;
  }
}
