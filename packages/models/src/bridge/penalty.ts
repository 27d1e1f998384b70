/**
 * Path penalties: differentiable functions of the forward samples z_t that shape the bridge's
 * trajectories (docs/maths/bridges.md#path-penalties). A penalty is added to the per-sample loss;
 * it acts on the forward process only, and the reverse process follows because it is trained
 * to match the forward one.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The extension point: z [B, D], t [B, 1] → per-sample penalty [B] (already weighted). Must be
 * built from differentiable tf ops (it is trained through the same reverse pass as the loss);
 * like the loss, it is called inside the caller's tf.tidy and may create temporaries.
 */
export type PathPenalty = (z: tf.Tensor, t: tf.Tensor) => tf.Tensor;

/** The JSON description of a built-in penalty (saved with a bridge model). */
export interface ObstacleConfig {
  kind: 'obstacle';
  center: number[];
  radius: number;
  weight: number;
}
export type PenaltyConfig = ObstacleConfig;

const PENALTY_CONFIGS = new WeakMap<PathPenalty, PenaltyConfig>();

/** The config of a penalty built by {@link createPenalty}/{@link obstaclePenalty}, else undefined (a custom function). */
export function penaltyConfig(penalty: PathPenalty): PenaltyConfig | undefined {
  const c = PENALTY_CONFIGS.get(penalty);
  return c ? (JSON.parse(JSON.stringify(c)) as PenaltyConfig) : undefined;
}

/** Build a penalty from its config. */
export function createPenalty(config: PenaltyConfig): PathPenalty {
  if (config.kind === 'obstacle') return obstaclePenalty(config);
  throw new RangeError(`unknown path-penalty kind ${JSON.stringify((config as { kind?: unknown }).kind)} (expected obstacle)`);
}

export interface DiscObstacle {
  /** Centre c of the disc (length D; 2-D in the paper's figure). */
  center: number[];
  radius: number;
}

/**
 * weight · relu(r − ‖z − c‖)², [B]: zero outside the disc, growing quadratically with the
 * depth inside. Its gradient w.r.t. z is −2w (r − ‖z − c‖)(z − c)/‖z − c‖ inside and 0 outside
 * (a small ε inside the norm keeps the gradient finite at z = c).
 */
export function obstaclePenalty(options: DiscObstacle & { weight: number }): PathPenalty {
  const { center, radius, weight } = options;
  if (!(radius > 0)) throw new RangeError(`obstacle radius must be > 0, got ${radius}`);
  if (!(weight >= 0)) throw new RangeError(`obstacle weight must be ≥ 0, got ${weight}`);
  if (!Array.isArray(center) || center.length === 0 || center.some((c) => !Number.isFinite(c)))
    throw new RangeError(`obstacle centre must be a non-empty array of finite numbers, got ${JSON.stringify(center)}`);
  const penalty: PathPenalty = (z: tf.Tensor) => {
    if (z.shape[1] !== center.length) throw new RangeError(`obstacle centre has ${center.length} coordinates, z is [${z.shape}]`);
    const dist = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(z, tf.tensor1d(center))), 1), 1e-12));
    return tf.mul(weight, tf.square(tf.relu(tf.sub(radius, dist))));
  };
  PENALTY_CONFIGS.set(penalty, { kind: 'obstacle', center: [...center], radius, weight });
  return penalty;
}

/** Sum of several penalties, [B] (zeros when the list is empty). */
export function totalPenalty(penalties: readonly PathPenalty[], z: tf.Tensor, t: tf.Tensor): tf.Tensor {
  let total = tf.zeros([z.shape[0]]) as tf.Tensor;
  for (const p of penalties) total = tf.add(total, p(z, t));
  return total;
}

/**
 * Fraction of points strictly inside the disc (‖z − c‖ < r). Accepts points [N, D] or a
 * trajectory [T, B, D] (all its points count). Returns a JS number; leaves no tensors.
 */
export function fractionInside(points: tf.Tensor, obstacle: DiscObstacle): number {
  const D = obstacle.center.length;
  const flat = points.reshape([-1, D]);
  const data = flat.dataSync();
  flat.dispose();
  const n = data.length / D;
  let inside = 0;
  const r2 = obstacle.radius * obstacle.radius;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) {
      const v = data[i * D + d] - obstacle.center[d];
      s += v * v;
    }
    if (s < r2) inside++;
  }
  return n === 0 ? 0 : inside / n;
}
