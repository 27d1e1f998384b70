/**
 * A network of data and time, NN([x, e(t)]), with its partial time derivatives.
 *
 * The input jet is [x, e(t)] with x held fixed (its tangents are zero) and t moving with
 * unit speed, so the output jet holds NN, ∂NN/∂t and (order 2) ∂²NN/∂t² — the partial
 * derivatives NFDM needs (∂μ/∂t with x fixed). Without an embedding, e(t) = t (the
 * reference configuration: NN([x, t]), tangent (0, …, 0, 1)).
 *
 * Shapes: x [B, dataDim] (or omitted when dataDim = 0, e.g. a volatility g(t)), t [B, 1];
 * output jet [(order+1)·B, outDim].
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import type { ActivationName } from './activations.js';
import type { TimeEmbedding } from './embedding.js';
import type { InitScheme } from './init.js';
import { assertJetOrder, Jet, type JetOrder } from './jet.js';
import { MLP } from './mlp.js';
import { collectParameters, type Module, type NamedVariables } from './module.js';

export interface TimeMLPOptions {
  /** Width of x (0 for a function of t alone). */
  dataDim: number;
  outDim: number;
  hidden: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** Time embedding; default: raw t as one extra input column. */
  embedding?: TimeEmbedding | null;
  rng?: Rng | number;
}

export class TimeMLP implements Module {
  readonly net: MLP;
  readonly embedding: TimeEmbedding | null;

  constructor(readonly options: TimeMLPOptions) {
    if (!Number.isInteger(options.dataDim) || options.dataDim < 0) {
      throw new RangeError(`dataDim must be a non-negative integer, got ${options.dataDim}`);
    }
    this.embedding = options.embedding ?? null;
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    this.net = new MLP({
      inDim: options.dataDim + (this.embedding ? this.embedding.dim : 1),
      outDim: options.outDim,
      hidden: options.hidden,
      activation: options.activation,
      init: options.init,
      rng,
    });
  }

  /** The jet of e(t) (or of t itself: [t; 1; 0]). */
  timeJet(t: tf.Tensor2D, order: JetOrder): Jet {
    if (this.embedding) return this.embedding.jet(t, order);
    if (order === 0) return new Jet(t, 0);
    return Jet.fromParts(t, order, tf.onesLike(t));
  }

  /** NN([x, e(t)]) and its partial t-derivatives up to `order`. */
  jet(x: tf.Tensor2D | null, t: tf.Tensor2D, order: JetOrder): Jet {
    assertJetOrder(order);
    const time = this.timeJet(t, order);
    if (this.options.dataDim === 0) return this.net.applyJet(time);
    if (x?.rank !== 2 || x.shape[1] !== this.options.dataDim || x.shape[0] !== t.shape[0]) {
      throw new RangeError(`TimeMLP expects x [${t.shape[0]}, ${this.options.dataDim}], got ${x ? `[${x.shape}]` : 'null'}`);
    }
    return this.net.applyJet(Jet.concatColumns([Jet.constant(x, order), time]));
  }

  /** NN([x, e(t)]) without tangents. */
  apply(x: tf.Tensor2D | null, t: tf.Tensor2D): tf.Tensor2D {
    return this.jet(x, t, 0).data;
  }

  parameters(): NamedVariables {
    return collectParameters({ net: this.net, embedding: this.embedding });
  }

  dispose(): void {
    this.net.dispose();
    this.embedding?.dispose();
  }
}
