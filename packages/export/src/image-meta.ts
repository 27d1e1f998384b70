/**
 * The `nfdm.image` metadata of an export: which NHWC image one data row holds, so runtimes and
 * servers can return samples as pictures. Given explicitly (an MLP trained on flattened
 * images knows it only from its data), or read from the first U-Net among the model's networks.
 */
import { TimeUNet } from '@nfdm/core';
import type { ImageShapeMeta } from '@nfdm/runtime';

/** Options of the exporters that take an image shape. */
export interface ImageExportOption {
  /**
   * The image of one data row (height·width·channels = D), recorded as `nfdm.image`. Default:
   * the image of the model's U-Net networks, none for MLPs; `null` records none.
   */
  image?: ImageShapeMeta | null;
}

/** The image to record for a model of dimension `dim` with these networks (see {@link ImageExportOption}). */
export function imageMetadata(option: ImageShapeMeta | null | undefined, dim: number, networks: unknown[]): ImageShapeMeta | undefined {
  if (option === null) return undefined;
  if (option !== undefined) {
    const { height, width, channels } = option;
    const ok = [height, width, channels].every((x) => Number.isInteger(x) && x > 0);
    if (!ok || height * width * channels !== dim)
      throw new RangeError(
        `image: need positive integers height, width and channels with height·width·channels = ${dim}, got ${JSON.stringify(option)}`,
      );
    return { height, width, channels };
  }
  const unet = networks.find((n): n is TimeUNet => n instanceof TimeUNet);
  if (!unet) return undefined;
  const { height, width, channels } = unet.options.image;
  return height * width * channels === dim ? { height, width, channels } : undefined;
}
