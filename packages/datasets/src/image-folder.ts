/**
 * A folder of the user's own PNG images as an image set: every `*.png` file (sorted by name),
 * decoded with pngjs, converted to 1 channel (luminance 0.299 R + 0.587 G + 0.114 B) or 3 (RGB),
 * transparent pixels composited over black, and resized to `height × width` by area averaging
 * (each output pixel is the mean of the input area it covers, with fractional weights at the
 * edges; exact block means for integer factors), rounded back to 8-bit values so that the
 * dequantisation and the bits/dim offset of 8-bit images apply unchanged.
 *
 * Spec syntax (loadDataset): `DIR`, `DIR@HxW` or `DIR@HxWxC` — the size defaults to the first
 * image's, the channels to 1 when every image is grey (R = G = B) and 3 otherwise.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DatasetError } from './errors.js';
import type { ImageSet } from './fashion-mnist.js';

export interface ImageFolderOptions {
  /** Output height and width (default: the first image's). */
  size?: [number, number];
  /** 1 (grey) or 3 (RGB); default 1 when every image is grey, else 3. */
  channels?: 1 | 3;
  /** Keep the first `limit` files (sorted by name). */
  limit?: number;
}

/** `DIR@HxW[xC]` → the folder and its options; undefined when `spec` is not a folder. */
export function parseImageFolderSpec(spec: string): { dir: string; size?: [number, number]; channels?: 1 | 3 } | undefined {
  const at = spec.lastIndexOf('@');
  const dir = at > 0 ? spec.slice(0, at) : spec;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  if (at <= 0) return { dir };
  const m = /^(\d+)x(\d+)(?:x([13]))?$/.exec(spec.slice(at + 1));
  if (!m)
    throw new DatasetError('invalid_argument', `image folder size must look like DIR@28x28 or DIR@32x32x3, got '${spec.slice(at + 1)}'`);
  const size: [number, number] = [Number(m[1]), Number(m[2])];
  if (size[0] < 1 || size[1] < 1) throw new DatasetError('invalid_argument', `image size must be positive, got ${size.join('×')}`);
  return m[3] ? { dir, size, channels: Number(m[3]) as 1 | 3 } : { dir, size };
}

interface Decoded {
  file: string;
  width: number;
  height: number;
  /** RGB composited over black, [h·w·3] float in 0..255. */
  rgb: Float64Array;
  grey: boolean;
}

function decode(file: string): Decoded {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (error) {
    throw new DatasetError('bad_value', `not a readable PNG image (${(error as Error).message})`, { file });
  }
  const { width, height, data } = png;
  const rgb = new Float64Array(width * height * 3);
  let grey = true;
  for (let i = 0; i < width * height; i++) {
    const a = data[4 * i + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = data[4 * i + c] * a;
    if (data[4 * i] !== data[4 * i + 1] || data[4 * i] !== data[4 * i + 2]) grey = false;
  }
  return { file, width, height, rgb, grey };
}

/** Area resampling of one channel plane [h, w] → [H, W]. */
export function resizeArea(src: Float64Array, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  const sy = h / H;
  const sx = w / W;
  for (let Y = 0; Y < H; Y++) {
    const y0 = Y * sy;
    const y1 = y0 + sy;
    for (let X = 0; X < W; X++) {
      const x0 = X * sx;
      const x1 = x0 + sx;
      let acc = 0;
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++)
          acc += wy * (Math.min(x + 1, x1) - Math.max(x, x0)) * src[y * w + x];
      }
      out[Y * W + X] = acc / (sy * sx);
    }
  }
  return out;
}

/** The PNG images of `dir` as 8-bit NHWC pixels (see the module doc). */
export function readImageFolder(dir: string, options: ImageFolderOptions = {}): ImageSet {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DatasetError('not_found', `image folder ${dir} does not exist`, { file: dir });
  let files = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.png'))
    .sort();
  if (options.limit !== undefined) files = files.slice(0, options.limit);
  if (files.length === 0) throw new DatasetError('empty', `no .png images in ${dir}`, { file: dir });
  const images = files.map((f) => decode(join(dir, f)));
  const [H, W] = options.size ?? [images[0].height, images[0].width];
  const C = options.channels ?? (images.every((i) => i.grey) ? 1 : 3);
  const pixels = new Uint8Array(images.length * H * W * C);
  images.forEach((img, n) => {
    const planes: Float64Array[] = [];
    if (C === 1) {
      const lum = new Float64Array(img.width * img.height);
      for (let i = 0; i < lum.length; i++) lum[i] = 0.299 * img.rgb[3 * i] + 0.587 * img.rgb[3 * i + 1] + 0.114 * img.rgb[3 * i + 2];
      planes.push(lum);
    } else {
      for (let c = 0; c < 3; c++) planes.push(Float64Array.from({ length: img.width * img.height }, (_, i) => img.rgb[3 * i + c]));
    }
    planes.forEach((plane, c) => {
      const resized = img.height === H && img.width === W ? plane : resizeArea(plane, img.height, img.width, H, W);
      for (let i = 0; i < H * W; i++) pixels[(n * H * W + i) * C + c] = Math.max(0, Math.min(255, Math.round(resized[i])));
    });
  });
  return { pixels, labels: new Uint8Array(images.length), n: images.length, height: H, width: W, channels: C, files: { images: dir } };
}
