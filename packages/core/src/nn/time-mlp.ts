/**
 * A network of data and time, NN([x, e(t)]), with its partial time derivatives.
 *
 * The input jet is [x, e(t)] with x held fixed (its tangents are zero) and t moving with
 * unit speed, so the output jet holds NN, ∂NN/∂t and (order 2) ∂²NN/∂t² — the partial
 * derivatives NFDM needs (∂μ/∂t with x fixed). Without an embedding, e(t) = t (the
 * reference configuration: NN([x, t]), tangent (0, …, 0, 1)).
 *
 * With a `condition` the network is NN([x, e(t), emb(y)]) for a condition y [B, w] (a class
 * label or a vector, see condition.ts; its width-e embedding is learned, with a null condition ∅):
 * emb(y) does not depend on t, so it enters the jet as a constant (zero tangents). A conditional
 * network must be given y (∅ for the unconditional model); one without a condition is
 * unchanged (same parameters, same outputs) and refuses one.
 *
 * Shapes: x [B, dataDim] (or omitted when dataDim = 0, e.g. a volatility g(t)), t [B, 1],
 * y [B, w]; output jet [(order+1)·B, outDim].
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import type { ActivationName } from './activations.js';
import { ConditionEmbedding, type ConditionSpec, conditionJet } from './condition.js';
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
  /** A condition y and the width e of its embedding (default none: NN([x, e(t)])). */
  condition?: { spec: ConditionSpec; embedding: number } | null;
}

export class TimeMLP implements Module {
  readonly net: MLP;
  readonly embedding: TimeEmbedding | null;
  /** emb(y), or null for a network without a condition. */
  readonly condition: ConditionEmbedding | null;

  constructor(readonly options: TimeMLPOptions) {
    if (!Number.isInteger(options.dataDim) || options.dataDim < 0) {
      throw new RangeError(`dataDim must be a non-negative integer, got ${options.dataDim}`);
    }
    this.embedding = options.embedding ?? null;
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    const c = options.condition ?? null;
    this.net = new MLP({
      inDim: options.dataDim + (this.embedding ? this.embedding.dim : 1) + (c ? c.embedding : 0),
      outDim: options.outDim,
      hidden: options.hidden,
      activation: options.activation,
      init: options.init,
      rng,
    });
    // After the MLP: a network without a condition draws exactly the weights it always did.
    this.condition = c ? new ConditionEmbedding(c.spec, c.embedding, rng) : null;
  }

  /** What the network is conditioned on (null: nothing). */
  get conditionSpec(): ConditionSpec | null {
    return this.condition?.spec ?? null;
  }

  /** The jet of e(t) (or of t itself: [t; 1; 0]). */
  timeJet(t: tf.Tensor2D, order: JetOrder): Jet {
    if (this.embedding) return this.embedding.jet(t, order);
    if (order === 0) return new Jet(t, 0);
    return Jet.fromParts(t, order, tf.onesLike(t));
  }

  /** NN([x, e(t)]) (NN([x, e(t), emb(y)]) with a condition) and its partial t-derivatives up to `order`. */
  jet(x: tf.Tensor2D | null, t: tf.Tensor2D, order: JetOrder, y?: tf.Tensor2D | null): Jet {
    assertJetOrder(order);
    const columns = [this.timeJet(t, order)];
    if (this.options.dataDim > 0) {
      if (x?.rank !== 2 || x.shape[1] !== this.options.dataDim || x.shape[0] !== t.shape[0]) {
        throw new RangeError(`TimeMLP expects x [${t.shape[0]}, ${this.options.dataDim}], got ${x ? `[${x.shape}]` : 'null'}`);
      }
      columns.unshift(Jet.constant(x, order));
    }
    const cond = conditionJet(this.condition, y, t.shape[0], order, 'TimeMLP');
    if (cond) columns.push(cond);
    return this.net.applyJet(Jet.concatColumns(columns));
  }

  /** NN([x, e(t)]) (or NN([x, e(t), emb(y)])) without tangents. */
  apply(x: tf.Tensor2D | null, t: tf.Tensor2D, y?: tf.Tensor2D | null): tf.Tensor2D {
    return this.jet(x, t, 0, y).data;
  }

  parameters(): NamedVariables {
    return collectParameters({ net: this.net, embedding: this.embedding, condition: this.condition });
  }

  dispose(): void {
    this.net.dispose();
    this.embedding?.dispose();
    this.condition?.dispose();
  }
}
