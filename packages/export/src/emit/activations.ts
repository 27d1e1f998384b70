/**
 * Activations φ and their derivatives φ′, φ″ as ONNX ops (opset 17), mirroring the tfjs
 * formulas of `@nfdm/core`'s `activations.ts` op for op (so exported graphs reproduce tfjs to
 * float32 rounding). No op newer than opset 17: GELU (tanh approximation) is built from
 * Tanh/Mul/Add, SELU uses `Selu` (opset 6) with PyTorch's constants.
 *
 * A derivative is returned as a value name, the number 1 (identity's φ′) or null (zero), so
 * callers can skip work on known constants.
 */
import { type ActivationName, SELU_ALPHA, SELU_LAMBDA } from '@nfdm/core';
import { attr, type Graph } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';

/** φ(h) and up to two derivatives. */
export interface EmittedActivation {
  value: string;
  d1?: string | 1 | null;
  d2?: string | null;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** 1[h > 0] as float32 (tf.step). */
function step(g: Graph, h: string): string {
  return g.cast(g.op('Greater', [h, 0]), DataType.FLOAT);
}

/**
 * Emit φ(h) and, up to `order` (0, 1 or 2), φ′(h) and φ″(h).
 */
export function emitActivation(g: Graph, name: ActivationName, h: string, order: 0 | 1 | 2): EmittedActivation {
  switch (name) {
    case 'selu': {
      const value = g.op('Selu', [h], { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_LAMBDA) });
      if (order === 0) return { value };
      const positive = step(g, h);
      const negBranch = g.add(value, SELU_LAMBDA * SELU_ALPHA); // λαeʰ where h ≤ 0
      const d1 = g.add(negBranch, g.mul(positive, g.sub(SELU_LAMBDA, negBranch)));
      if (order === 1) return { value, d1 };
      return { value, d1, d2: g.sub(negBranch, g.mul(positive, negBranch)) };
    }
    case 'tanh': {
      const value = g.unary('Tanh', h);
      if (order === 0) return { value };
      const d1 = g.sub(1, g.square(value));
      if (order === 1) return { value, d1 };
      return { value, d1, d2: g.mul(-2, g.mul(value, d1)) };
    }
    case 'sigmoid': {
      const value = g.unary('Sigmoid', h);
      if (order === 0) return { value };
      const d1 = g.mul(value, g.sub(1, value));
      if (order === 1) return { value, d1 };
      return { value, d1, d2: g.mul(d1, g.sub(1, g.mul(2, value))) };
    }
    case 'softplus': {
      const value = g.unary('Softplus', h);
      if (order === 0) return { value };
      const s = g.unary('Sigmoid', h);
      if (order === 1) return { value, d1: s };
      return { value, d1: s, d2: g.mul(s, g.sub(1, s)) };
    }
    case 'silu': {
      const s = g.unary('Sigmoid', h);
      const value = g.mul(h, s);
      if (order === 0) return { value };
      const p = g.mul(s, g.sub(1, s));
      const d1 = g.add(s, g.mul(h, p));
      if (order === 1) return { value, d1 };
      const q = g.mul(p, g.sub(1, g.mul(2, s)));
      return { value, d1, d2: g.add(g.mul(2, p), g.mul(h, q)) };
    }
    case 'gelu-tanh': {
      const h2 = g.square(h);
      const u = g.mul(g.mul(GELU_C, h), g.add(1, g.mul(GELU_K, h2)));
      const T = g.unary('Tanh', u);
      const value = g.mul(g.mul(0.5, h), g.add(1, T));
      if (order === 0) return { value };
      const S = g.sub(1, g.square(T));
      const du = g.mul(GELU_C, g.add(1, g.mul(3 * GELU_K, h2)));
      const halfHS = g.mul(g.mul(0.5, h), S);
      const d1 = g.add(g.mul(0.5, g.add(1, T)), g.mul(halfHS, du));
      if (order === 1) return { value, d1 };
      const ddu = g.mul(6 * GELU_C * GELU_K, h);
      const d2 = g.add(g.mul(S, du), g.mul(halfHS, g.sub(ddu, g.mul(g.mul(2, T), g.square(du)))));
      return { value, d1, d2 };
    }
    case 'relu': {
      const value = g.unary('Relu', h);
      if (order === 0) return { value };
      return { value, d1: step(g, h), d2: null };
    }
    case 'identity':
      return order === 0 ? { value: h } : { value: h, d1: 1, d2: null };
    default:
      throw new RangeError(`cannot export activation '${String(name)}' to ONNX`);
  }
}
