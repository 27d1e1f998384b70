/**
 * Conditions of conditional networks as ONNX ops — core's `ConditionEmbedding`
 * (nn/condition.ts), op for op. A batch of conditions is one float32 input y [N, w]:
 *
 * - labels (K classes, w = 1): the class index k as a number, k = K for the null condition ∅;
 *   emb(y) = table[k], the table [K + 1, e] gathered at Cast(Round(k)) (core multiplies a
 *   one-hot row by the table: the same row, exactly);
 * - vectors (m values, w = m): a row containing NaN is ∅; emb(y) = clean(y) W + b with the NaN
 *   entries replaced by 0, and the learned null vector n [e] in the ∅ rows (Where(IsNaN)).
 *
 * emb(y) does not depend on t or on the data: in the jets it is a constant (zero tangents).
 * Initializers are named `<prefix>.condition.<core parameter>` (`table`; `proj.weight`,
 * `proj.bias`, `null`).
 *
 * Classifier-free guidance needs x̂(z, t, y) and x̂(z, t, ∅) from one call on [z; z]: the
 * conditions [y; ∅] [2N, w] are built in the graph ({@link emitGuidedConditions}).
 */
import { type ConditionEmbedding, type ConditionSpec, conditionWidth } from '@nfdm/core';
import { attr, type Graph } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';

/** The condition a field graph reads: y [N, w] and, for guided fields, [y; ∅] [2N, w] and the weight w (scalar). */
export interface FieldCondition {
  y: string;
  guidance?: { both: string; w: string } | null;
}

/** emb(y) [N, e] of a network's condition embedding (module doc). */
export function emitConditionEmbedding(g: Graph, embedding: ConditionEmbedding, y: string, prefix: string): string {
  const name = `${prefix}.condition`;
  if (embedding.table) {
    const [rows, e] = embedding.table.shape;
    const table = g.floatTensor(`${name}.table`, Float32Array.from(embedding.table.dataSync()), [rows, e]);
    const index = g.cast(g.unary('Round', g.reshape(y, [-1])), DataType.INT64);
    return g.op('Gather', [table, index], { axis: attr.int(0) });
  }
  const proj = embedding.proj;
  const nullVector = embedding.nullVector;
  if (!proj || !nullVector) throw new TypeError(`${name}: a vector condition needs its projection and null vector`);
  const W = g.floatTensor(`${name}.proj.weight`, Float32Array.from(proj.weight.dataSync()), [proj.inDim, proj.outDim]);
  const b = g.floatTensor(`${name}.proj.bias`, Float32Array.from(proj.bias.dataSync()), [proj.outDim]);
  const n = g.floatTensor(`${name}.null`, Float32Array.from(nullVector.dataSync()), [1, embedding.dim]);
  const nanMask = g.unary('IsNaN', y);
  const clean = g.op('Where', [nanMask, 0, y]);
  const projected = g.add(g.matmul(clean, W), b);
  const anyNaN = g.op('ReduceMax', [g.cast(nanMask, DataType.FLOAT)], { axes: attr.ints([1]), keepdims: attr.int(1) });
  return g.op('Where', [g.cast(anyNaN, DataType.BOOL), n, projected]);
}

/** The null condition ∅ in every row of y [N, w]: K (labels) or NaN (vectors). */
export function emitNullCondition(g: Graph, spec: ConditionSpec, y: string): string {
  const w = conditionWidth(spec);
  const fill = spec.kind === 'label' ? spec.classes : Number.NaN;
  return g.expandLike(g.floatConstant('condition.null_row', new Float32Array(w).fill(fill), [1, w]), y);
}

/** y and, with a guidance weight `guidance` ([1] or scalar), [y; ∅] and w as a scalar. */
export function emitGuidedConditions(g: Graph, spec: ConditionSpec, y: string, guidance: string): FieldCondition {
  const both = g.concat([y, emitNullCondition(g, spec, y)], 0);
  return { y, guidance: { both, w: g.reshape(guidance, []) } };
}
