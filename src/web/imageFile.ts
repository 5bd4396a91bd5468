// An image file decoded by the browser's own decoders (createImageBitmap), in a Worker, to the
// pixels the CLI's decoders give: 8-bit RGBA as stored, without colour conversion and without
// premultiplied alpha. A 2D canvas keeps its pixels premultiplied, which rounds the colour of
// translucent pixels away (an RGBA PNG's colours would differ from the CLI's), so the pixels are
// read back through WebGL 2, which can upload and read them untouched; a 2D canvas serves where
// WebGL 2 is missing, exact for opaque images.
import type { RawImage } from '../data/image.ts';

/** The WebGL 2 context the pixels go through, made once; null where there is none. */
let gl: WebGL2RenderingContext | null | undefined;

function webgl(): WebGL2RenderingContext | null {
  if (gl !== undefined) return gl;
  gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (gl) {
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.bindFramebuffer(gl.FRAMEBUFFER, gl.createFramebuffer());
  }
  return gl;
}

function readWebgl(gl: WebGL2RenderingContext, bitmap: ImageBitmap): Uint8Array {
  const texture = gl.createTexture();
  try {
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    const pixels = new Uint8Array(bitmap.width * bitmap.height * 4);
    gl.readPixels(0, 0, bitmap.width, bitmap.height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const error = gl.getError();
    if (error !== gl.NO_ERROR) throw new Error(`WebGL could not read the pixels back (error 0x${error.toString(16)})`);
    return pixels;
  } finally {
    gl.deleteTexture(texture);
  }
}

function readCanvas(bitmap: ImageBitmap): Uint8Array {
  const context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A PNG or JPEG file's pixels (EXIF orientation applied, as sharp's autoOrient does); rejects with the reason to skip it. */
export async function decodeImageFile(file: Blob): Promise<RawImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new Error('corrupt, truncated or not an image the browser can decode');
  }
  try {
    const context = webgl();
    return { data: context ? readWebgl(context, bitmap) : readCanvas(bitmap), width: bitmap.width, height: bitmap.height, channels: 4 };
  } finally {
    bitmap.close();
  }
}
