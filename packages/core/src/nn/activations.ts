/**
 * Activations with their first and second derivatives, as ordinary tf ops.
 *
 * A forward-mode tangent through an activation a = φ(h) is
 *   a'  = φ'(h) h',
 *   a'' = φ''(h) h'² + φ'(h) h''.
 * Each activation below therefore gives φ(h), φ'(h) and φ''(h) from shared intermediates.
 * They are built from ops whose first-order tfjs gradients are correct, so a single reverse
 * pass through value and tangents is exact (no nested `tf.grad`; see architecture.md).
 */
import * as tf from '@tensorflow/tfjs';

/** Names of the activations nfdm's layers support. */
export type ActivationName = 'selu' | 'silu' | 'tanh' | 'softplus' | 'gelu-tanh' | 'sigmoid' | 'relu' | 'identity';

/** φ(h) and, up to `order`, φ'(h) and φ''(h). Shapes equal h's. */
export interface ActivationDerivatives {
  value: tf.Tensor;
  d1?: tf.Tensor;
  d2?: tf.Tensor;
}

/** One activation: φ and its derivatives (`order` 0, 1 or 2). */
export type ActivationFn = (h: tf.Tensor, order: 0 | 1 | 2) => ActivationDerivatives;

/** SELU constants (Klambauer et al. 2017), as in PyTorch. */
export const SELU_LAMBDA = 1.0507009873554805;
export const SELU_ALPHA = 1.6732632423543772;
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/**
 * SELU: λh (h > 0), λα(eʰ − 1) (h ≤ 0); φ' = λ | λαeʰ, φ'' = 0 | λαeʰ.
 * Built with arithmetic on a 0/1 step mask rather than tf.where: where() broadcasts a scalar
 * branch with a Tile kernel, which dominated the step time on wasm.
 */
const selu: ActivationFn = (h, order) => {
  const value = tf.selu(h);
  if (order === 0) return { value };
  const positive = tf.step(h); // 1[h > 0], zero gradient
  const negBranch = tf.add(value, SELU_LAMBDA * SELU_ALPHA); // = λαeʰ where h ≤ 0
  const d1 = tf.add(negBranch, tf.mul(positive, tf.sub(SELU_LAMBDA, negBranch)));
  if (order === 1) return { value, d1 };
  return { value, d1, d2: tf.sub(negBranch, tf.mul(positive, negBranch)) };
};

/** tanh: φ' = 1 − a², φ'' = −2a(1 − a²). */
const tanh: ActivationFn = (h, order) => {
  const value = tf.tanh(h);
  if (order === 0) return { value };
  const d1 = tf.sub(1, tf.square(value));
  if (order === 1) return { value, d1 };
  return { value, d1, d2: tf.mul(-2, tf.mul(value, d1)) };
};

/** sigmoid σ: φ' = σ(1 − σ), φ'' = φ'(1 − 2σ). */
const sigmoid: ActivationFn = (h, order) => {
  const value = tf.sigmoid(h);
  if (order === 0) return { value };
  const d1 = tf.mul(value, tf.sub(1, value));
  if (order === 1) return { value, d1 };
  return { value, d1, d2: tf.mul(d1, tf.sub(1, tf.mul(2, value))) };
};

/** softplus log(1 + eʰ): φ' = σ(h), φ'' = σ(1 − σ). */
const softplus: ActivationFn = (h, order) => {
  const value = tf.softplus(h);
  if (order === 0) return { value };
  const s = tf.sigmoid(h);
  if (order === 1) return { value, d1: s };
  return { value, d1: s, d2: tf.mul(s, tf.sub(1, s)) };
};

/** SiLU hσ(h): φ' = σ(1 + h(1 − σ)), φ'' = σ(1 − σ)(2 + h(1 − 2σ)). */
const silu: ActivationFn = (h, order) => {
  const s = tf.sigmoid(h);
  const value = tf.mul(h, s);
  if (order === 0) return { value };
  const oneMinus = tf.sub(1, s);
  const d1 = tf.mul(s, tf.add(1, tf.mul(h, oneMinus)));
  if (order === 1) return { value, d1 };
  const d2 = tf.mul(tf.mul(s, oneMinus), tf.add(2, tf.mul(h, tf.sub(1, tf.mul(2, s)))));
  return { value, d1, d2 };
};

/**
 * GELU, tanh approximation: ½h(1 + T), T = tanh(u), u = c(h + kh³), c = √(2/π), k = 0.044715.
 * With S = 1 − T², u' = c(1 + 3kh²), u'' = 6ckh:
 *   φ' = ½(1 + T) + ½hSu',   φ'' = Su' + ½hS(u'' − 2Tu'²).
 */
const geluTanh: ActivationFn = (h, order) => {
  const h2 = tf.square(h);
  const u = tf.mul(tf.mul(GELU_C, h), tf.add(1, tf.mul(GELU_K, h2)));
  const T = tf.tanh(u);
  const value = tf.mul(tf.mul(0.5, h), tf.add(1, T));
  if (order === 0) return { value };
  const S = tf.sub(1, tf.square(T));
  const du = tf.mul(GELU_C, tf.add(1, tf.mul(3 * GELU_K, h2)));
  const halfHS = tf.mul(tf.mul(0.5, h), S);
  const d1 = tf.add(tf.mul(0.5, tf.add(1, T)), tf.mul(halfHS, du));
  if (order === 1) return { value, d1 };
  const ddu = tf.mul(6 * GELU_C * GELU_K, h);
  const d2 = tf.add(tf.mul(S, du), tf.mul(halfHS, tf.sub(ddu, tf.mul(tf.mul(2, T), tf.square(du)))));
  return { value, d1, d2 };
};

/** ReLU: φ' = 1[h > 0], φ'' = 0 (almost everywhere). */
const relu: ActivationFn = (h, order) => {
  const value = tf.relu(h);
  if (order === 0) return { value };
  const d1 = tf.step(h); // 1[h > 0], with a (zero) gradient registered
  if (order === 1) return { value, d1 };
  return { value, d1, d2: tf.zerosLike(h) };
};

/** Identity: φ' = 1, φ'' = 0. */
const identity: ActivationFn = (h, order) => {
  if (order === 0) return { value: h };
  if (order === 1) return { value: h, d1: tf.onesLike(h) };
  return { value: h, d1: tf.onesLike(h), d2: tf.zerosLike(h) };
};

/** The activation registry, by name. */
export const ACTIVATIONS: Readonly<Record<ActivationName, ActivationFn>> = Object.freeze({
  selu,
  silu,
  tanh,
  softplus,
  'gelu-tanh': geluTanh,
  sigmoid,
  relu,
  identity,
});

/** Look an activation up by name, with a clear error for unknown names. */
export function getActivation(name: string): ActivationFn {
  const fn = (ACTIVATIONS as Record<string, ActivationFn>)[name];
  if (!fn) throw new RangeError(`unknown activation '${name}': expected one of ${Object.keys(ACTIVATIONS).join(', ')}`);
  return fn;
}
