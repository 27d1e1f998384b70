/**
 * Resampling between U-Net levels. All three are linear, so they act on a stacked
 * {@link ImageJet} (value and tangents) in one op:
 * - nearest ×2 up-sampling: y[2i + a, 2j + b] = x[i, j] (a, b ∈ {0, 1});
 * - 2×2 average pooling: y[i, j] = mean of x[2i..2i+1, 2j..2j+1] (even H, W);
 * - strided convolution (see {@link Conv2d} with stride 2) for learned down-sampling.
 * Built from reshape, broadcast multiply and mean, which every backend differentiates.
 */
import * as tf from '@tensorflow/tfjs';

/** Nearest-neighbour ×2 up-sampling of x [N, H, W, C] → [N, 2H, 2W, C]. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const spread = tf.mul(tf.reshape(x, [N, H, 1, W, 1, C]), tf.ones([1, 1, 2, 1, 2, 1]));
  return tf.reshape(spread, [N, 2 * H, 2 * W, C]);
}

/** 2×2 average pooling of x [N, H, W, C] (H, W even) → [N, H/2, W/2, C]. */
export function avgPool2x(x: tf.Tensor4D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0) throw new RangeError(`avgPool2x needs even height and width, got ${H}×${W}`);
  return tf.mean(tf.reshape(x, [N, H / 2, 2, W / 2, 2, C]), [2, 4]) as tf.Tensor4D;
}
