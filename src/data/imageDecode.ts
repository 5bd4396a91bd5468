// PNG and JPEG decoding in Node, each by the library that does it best: PNGs by pngjs (pure JS; any
// bit depth, palette, interlacing, transparency; a tiny PNG costs it a tenth of what a native
// pipeline's setup does), everything else by sharp (libvips, whose binaries come inside its npm
// packages: baseline and progressive JPEG, CMYK converted, EXIF orientation applied as browsers
// apply it). The page decodes with createImageBitmap instead.
import { PNG } from 'pngjs';
import sharp from 'sharp';
import type { RawImage } from './image.ts';

// Each file is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export async function decodeImage(bytes: Uint8Array): Promise<RawImage> {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    let png: { width: number; height: number; data: Buffer };
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new Error(`corrupt or truncated PNG (${(e as Error).message})`);
    }
    return { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height, channels: 4 };
  }
  const { data, info } = await sharp(bytes).autoOrient().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) throw new Error(`decoded to ${info.channels} channels, expected RGB or RGBA`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** The first line of a decoder's error: what to tell about a skipped file. */
export function decodeFailure(e: unknown): string {
  const line = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  // libvips reports a damaged stream it could partly read as a warning that sharp raises as this.
  if (/failOn/.test(line)) return 'corrupt or truncated image data';
  return line || 'could not be decoded';
}
