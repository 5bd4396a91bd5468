// PNG and JPEG decoding in Node, by sharp (libvips, whose binaries come inside its npm packages):
// any bit depth, palette or not, baseline or progressive JPEG, CMYK converted, EXIF orientation
// applied as browsers apply it. The page decodes with createImageBitmap instead.
import sharp from 'sharp';
import type { RawImage } from './image.ts';

// Each file is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

export async function decodeImage(bytes: Uint8Array): Promise<RawImage> {
  const { data, info } = await sharp(bytes).autoOrient().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) throw new Error(`decoded to ${info.channels} channels, expected RGB or RGBA`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** Width and height as decodeImage will give them, from the header alone. */
export async function imageDimensions(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const { width, height, orientation } = await sharp(bytes).metadata();
  // EXIF orientations 5 to 8 turn the image a quarter.
  return orientation && orientation >= 5 ? { width: height, height: width } : { width, height };
}

/** The first line of a decoder's error: what to tell about a skipped file. */
export function decodeFailure(e: unknown): string {
  const line = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  // libvips reports a damaged stream it could partly read as a warning that sharp raises as this.
  if (/failOn/.test(line)) return 'corrupt or truncated image data';
  return line || 'could not be decoded';
}
