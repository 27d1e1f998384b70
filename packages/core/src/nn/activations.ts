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
  /** φ‴(h), returned for order 3 by activations that support it (used by fused gradients). */
  d3?: tf.Tensor;
}

/**
 * One activation: φ and its derivatives up to `order`. Order 3 (φ‴) is optional: it lets the
 * second-order jet use a hand-written gradient; without it the jet falls back to autodiff.
 */
export type ActivationFn = (h: tf.Tensor, order: 0 | 1 | 2 | 3) => ActivationDerivatives;

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
  const d2 = tf.sub(negBranch, tf.mul(positive, negBranch));
  return order === 2 ? { value, d1, d2 } : { value, d1, d2, d3: d2 }; // φ‴ = φ″ (0 | λαeʰ)
};

/** tanh: φ' = 1 − a², φ'' = −2aφ', φ''' = −2(φ'² + aφ''). */
const tanh: ActivationFn = (h, order) => {
  const value = tf.tanh(h);
  if (order === 0) return { value };
  const d1 = tf.sub(1, tf.square(value));
  if (order === 1) return { value, d1 };
  const d2 = tf.mul(-2, tf.mul(value, d1));
  if (order === 2) return { value, d1, d2 };
  return { value, d1, d2, d3: tf.mul(-2, tf.add(tf.square(d1), tf.mul(value, d2))) };
};

/** sigmoid σ: φ' = σ(1 − σ), φ'' = φ'(1 − 2σ), φ''' = φ''(1 − 2σ) − 2φ'². */
const sigmoid: ActivationFn = (h, order) => {
  const value = tf.sigmoid(h);
  if (order === 0) return { value };
  const d1 = tf.mul(value, tf.sub(1, value));
  if (order === 1) return { value, d1 };
  const oneMinus2s = tf.sub(1, tf.mul(2, value));
  const d2 = tf.mul(d1, oneMinus2s);
  if (order === 2) return { value, d1, d2 };
  return { value, d1, d2, d3: tf.sub(tf.mul(d2, oneMinus2s), tf.mul(2, tf.square(d1))) };
};

/** softplus log(1 + eʰ): φ' = σ(h), φ'' = σ(1 − σ), φ''' = φ''(1 − 2σ). */
const softplus: ActivationFn = (h, order) => {
  const value = tf.softplus(h);
  if (order === 0) return { value };
  const s = tf.sigmoid(h);
  if (order === 1) return { value, d1: s };
  const d2 = tf.mul(s, tf.sub(1, s));
  if (order === 2) return { value, d1: s, d2 };
  return { value, d1: s, d2, d3: tf.mul(d2, tf.sub(1, tf.mul(2, s))) };
};

/**
 * SiLU hσ(h), with p = σ(1 − σ) and q = p(1 − 2σ) (σ's second derivative):
 * φ′ = σ + hp, φ″ = 2p + hq, φ‴ = 3q + h(q(1 − 2σ) − 2p²).
 */
const silu: ActivationFn = (h, order) => {
  const s = tf.sigmoid(h);
  const value = tf.mul(h, s);
  if (order === 0) return { value };
  const p = tf.mul(s, tf.sub(1, s));
  const d1 = tf.add(s, tf.mul(h, p));
  if (order === 1) return { value, d1 };
  const oneMinus2s = tf.sub(1, tf.mul(2, s));
  const q = tf.mul(p, oneMinus2s);
  const d2 = tf.add(tf.mul(2, p), tf.mul(h, q));
  if (order === 2) return { value, d1, d2 };
  const d3 = tf.add(tf.mul(3, q), tf.mul(h, tf.sub(tf.mul(q, oneMinus2s), tf.mul(2, tf.square(p)))));
  return { value, d1, d2, d3 };
};

/**
 * GELU, tanh approximation: ½h(1 + T), T = tanh(u), u = c(h + kh³), c = √(2/π), k = 0.044715.
 * With S = 1 − T², u' = c(1 + 3kh²), u'' = 6ckh, u''' = 6ck and Q = u'' − 2Tu'²:
 *   φ' = ½(1 + T) + ½hSu',   φ'' = Su' + ½hSQ,
 *   φ''' = (3/2)SQ + ½hS(Q' − 2Tu'Q),   Q' = u''' − 2Su'³ − 4Tu'u''
 * (S' = −2TSu', so (SQ)' = S(Q' − 2Tu'Q)). @nfdm/native implements the same formulas.
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
  const twoTdu = tf.mul(tf.mul(2, T), du);
  const Q = tf.sub(ddu, tf.mul(twoTdu, du));
  const d2 = tf.add(tf.mul(S, du), tf.mul(halfHS, Q));
  if (order === 2) return { value, d1, d2 };
  const dQ = tf.sub(6 * GELU_C * GELU_K, tf.add(tf.mul(tf.mul(2, S), tf.mul(tf.square(du), du)), tf.mul(tf.mul(2, twoTdu), ddu)));
  const d3 = tf.add(tf.mul(1.5, tf.mul(S, Q)), tf.mul(halfHS, tf.sub(dQ, tf.mul(twoTdu, Q))));
  return { value, d1, d2, d3 };
};

/** ReLU: φ' = 1[h > 0], φ'' = φ''' = 0 (almost everywhere). */
const relu: ActivationFn = (h, order) => {
  const value = tf.relu(h);
  if (order === 0) return { value };
  const d1 = tf.step(h); // 1[h > 0], with a (zero) gradient registered
  if (order === 1) return { value, d1 };
  const zero = tf.zerosLike(h);
  return order === 2 ? { value, d1, d2: zero } : { value, d1, d2: zero, d3: zero };
};

/** Identity: φ' = 1, φ'' = φ''' = 0. */
const identity: ActivationFn = (h, order) => {
  if (order === 0) return { value: h };
  if (order === 1) return { value: h, d1: tf.onesLike(h) };
  const zero = tf.zerosLike(h);
  return order === 2 ? { value: h, d1: tf.onesLike(h), d2: zero } : { value: h, d1: tf.onesLike(h), d2: zero, d3: zero };
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
