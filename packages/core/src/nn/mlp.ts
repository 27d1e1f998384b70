/**
 * Multi-layer perceptron with forward-mode time tangents.
 *
 * MLP(in, hidden = [w₁, …, w_L], out): Dense(in, w₁) → φ → Dense(w₁, w₂) → φ → … → φ →
 * Dense(w_L, out), no activation on the output (unless `outputActivation`). The nfdm
 * reference network is hidden = [64, 64, 64, 64] with SELU.
 *
 * `applyJet` runs the whole network as one fused native op when `@nfdm/native` is built and
 * loadable (see native.ts: `nativeKernelsStatus()`, `NFDM_NATIVE=0`), else layer by layer on tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { type ActivationFn, type ActivationName, getActivation } from './activations.js';
import { Dense, linearBlocks } from './dense.js';
import type { InitScheme } from './init.js';
import { activateJet, Jet } from './jet.js';
import { collectParameters, type Module, type NamedVariables } from './module.js';
import { nativeMlpJet } from './native.js';

export interface MLPOptions {
  inDim: number;
  outDim: number;
  /** Hidden widths; [] gives a single affine layer. */
  hidden: number[];
  activation?: ActivationName;
  outputActivation?: ActivationName;
  init?: InitScheme;
  /** Seed or generator for the initial weights (default seed 0). */
  rng?: Rng | number;
}

export class MLP implements Module {
  readonly layers: Dense[];
  readonly activationName: ActivationName;
  readonly outputActivationName: ActivationName | null;
  private readonly activation: ActivationFn;
  private readonly outputActivation: ActivationFn | null;

  constructor(readonly options: MLPOptions) {
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    this.activationName = options.activation ?? 'selu';
    this.activation = getActivation(this.activationName);
    this.outputActivation = options.outputActivation ? getActivation(options.outputActivation) : null;
    this.outputActivationName = options.outputActivation ?? null;
    const dims = [options.inDim, ...options.hidden, options.outDim];
    this.layers = [];
    for (let i = 0; i + 1 < dims.length; i++) {
      this.layers.push(new Dense(dims[i], dims[i + 1], { init: options.init ?? 'torch', rng }));
    }
  }

  get inDim(): number {
    return this.options.inDim;
  }

  get outDim(): number {
    return this.options.outDim;
  }

  /** Plain forward pass, x [B, in] → [B, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.applyJet(new Jet(x, 0)).data;
  }

  /** Forward pass of a jet: value and tangents through every layer. */
  applyJet(input: Jet): Jet {
    if (input.width !== this.inDim) throw new RangeError(`Dense expects width ${this.inDim}, got ${input.width}`);
    return denseChainJet(
      input,
      this.layers.map((l) => l.weight),
      this.layers.map((l) => l.bias),
      this.activationName,
      this.outputActivationName,
    );
  }

  /** The same forward pass on tfjs kernels only (the fallback of {@link applyJet}). */
  applyJetTfjs(input: Jet): Jet {
    return denseChainJetTfjs(
      input,
      this.layers.map((l) => l.weight),
      this.layers.map((l) => l.bias),
      this.activation,
      this.outputActivation,
    );
  }

  /**
   * Assign weights stored in PyTorch's nn.Linear layout (weight [out][in], bias [out]), one
   * entry per layer in order — e.g. a state_dict exported to JSON. Shapes are checked first.
   */
  loadTorchLinear(layers: ReadonlyArray<{ weight: number[][]; bias: number[] }>): void {
    if (layers.length !== this.layers.length) {
      throw new RangeError(`expected ${this.layers.length} linear layers, got ${layers.length}`);
    }
    layers.forEach((l, i) => {
      const d = this.layers[i];
      if (l.weight.length !== d.outDim || l.weight.some((row) => row.length !== d.inDim) || l.bias.length !== d.outDim) {
        throw new RangeError(`layer ${i}: expected weight [${d.outDim}][${d.inDim}] and bias [${d.outDim}]`);
      }
    });
    tf.tidy(() => {
      layers.forEach((l, i) => {
        this.layers[i].weight.assign(tf.transpose(tf.tensor2d(l.weight)));
        this.layers[i].bias.assign(tf.tensor1d(l.bias));
      });
    });
  }

  parameters(): NamedVariables {
    return collectParameters(Object.fromEntries(this.layers.map((l, i) => [`layers.${i}`, l])));
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/**
 * A chain of affine layers with φ between them, on a jet — the body of {@link MLP.applyJet}
 * for weights and biases that need not be one MLP's own variables (e.g. a first-layer bias
 * b + e(t) that carries a time feature, as DiffFlow's FourierMLP uses):
 *
 *   h₁ = x W₀ + b₀,  h_{l+1} = φ(h_l) W_l + b_l,  out = h_L  (or φ_out(h_L)),
 *
 * biases on the value block only, tangents [v′; v″] through the same layers (see {@link Jet}).
 * One native op when @nfdm/native is in use for these activations (see native.ts), else tfjs
 * layer by layer; both are differentiable in every weight, bias and the input.
 * Weights [in_l, out_l], biases [out_l].
 */
export function denseChainJet(
  input: Jet,
  weights: readonly tf.Tensor2D[],
  biases: readonly tf.Tensor1D[],
  activation: ActivationName,
  outputActivation: ActivationName | null = null,
): Jet {
  const native = nativeMlpJet(input.data, input.order, weights, biases, activation, outputActivation);
  if (native) return new Jet(native, input.order);
  return denseChainJetTfjs(input, weights, biases, getActivation(activation), outputActivation ? getActivation(outputActivation) : null);
}

/** {@link denseChainJet} on tfjs kernels only. */
function denseChainJetTfjs(
  input: Jet,
  weights: readonly tf.Tensor2D[],
  biases: readonly tf.Tensor1D[],
  activation: ActivationFn,
  outputActivation: ActivationFn | null,
): Jet {
  let h = input;
  const last = weights.length - 1;
  weights.forEach((w, i) => {
    h = new Jet(linearBlocks(h.data, w, biases[i], h.order + 1), h.order);
    if (i < last) h = activateJet(h, activation);
  });
  return outputActivation ? activateJet(h, outputActivation) : h;
}
