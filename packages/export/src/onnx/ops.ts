/**
 * The operator registry of {@link validateOnnxModel}: the default-domain (`''`, alias
 * `ai.onnx`) operators of ONNX opset 17 that nfdm's exporter emits, plus common relatives a
 * hand-built {@link Graph} may use, each with the signature it has AT opset 17 (e.g. ReduceSum
 * takes `axes` as an input since opset 13 while ReduceMean keeps the `axes` attribute until
 * opset 18). Anything else is reported as an unknown operator: the registry is deliberately
 * closed, so a typo or an op newer than opset 17 fails before a runtime sees the file.
 */

/** AttributeProto.AttributeType of an attribute (the subset used by these ops). */
export type OnnxAttributeKind = 'float' | 'int' | 'string' | 'tensor' | 'graph' | 'floats' | 'ints';

/** What one operator accepts. */
export interface OnnxOpSchema {
  /** [min, max] number of inputs (max `Infinity` for variadic ops). */
  inputs: readonly [number, number];
  /** [min, max] number of outputs. */
  outputs: readonly [number, number];
  /**
   * Input positions that may be the empty name '' (an omitted optional input). Positions at or
   * beyond `inputs[0]` are optional too, unless the op is variadic (`inputs[1]` = Infinity).
   */
  optional?: readonly number[];
  /** Accepted attributes and their kinds; `required` ones must be present. */
  attributes?: Readonly<Record<string, { kind: OnnxAttributeKind; required?: boolean }>>;
}

const unary: OnnxOpSchema = { inputs: [1, 1], outputs: [1, 1] };
const binary: OnnxOpSchema = { inputs: [2, 2], outputs: [1, 1] };
const variadic: OnnxOpSchema = { inputs: [1, Number.POSITIVE_INFINITY], outputs: [1, 1] };
const int = (required = false) => ({ kind: 'int' as const, required });
const float = { kind: 'float' as const };
/** Reductions whose axes are still an attribute at opset 17. */
const reduceAttr: OnnxOpSchema = { inputs: [1, 1], outputs: [1, 1], attributes: { axes: { kind: 'ints' }, keepdims: int() } };

/** Default-domain opset-17 operators known to the validator. */
export const ONNX_OPSET17_OPS: Readonly<Record<string, OnnxOpSchema>> = Object.freeze({
  // Elementwise, numpy broadcasting.
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Pow: binary,
  Less: binary,
  LessOrEqual: binary,
  Greater: binary,
  GreaterOrEqual: binary,
  Equal: binary,
  And: binary,
  Or: binary,
  Xor: binary,
  Sum: variadic,
  Max: variadic,
  Min: variadic,
  Mean: variadic,
  Where: { inputs: [3, 3], outputs: [1, 1] },
  Abs: unary,
  Neg: unary,
  Exp: unary,
  Log: unary,
  Sqrt: unary,
  Reciprocal: unary,
  Sin: unary,
  Cos: unary,
  Tan: unary,
  Sinh: unary,
  Cosh: unary,
  Atan: unary,
  Tanh: unary,
  Erf: unary,
  Sign: unary,
  Floor: unary,
  Ceil: unary,
  Round: unary,
  IsNaN: unary,
  Not: unary,
  Identity: unary,
  Sigmoid: unary,
  Softplus: unary,
  Softsign: unary,
  Relu: unary,
  Selu: { inputs: [1, 1], outputs: [1, 1], attributes: { alpha: float, gamma: float } },
  Elu: { inputs: [1, 1], outputs: [1, 1], attributes: { alpha: float } },
  LeakyRelu: { inputs: [1, 1], outputs: [1, 1], attributes: { alpha: float } },
  HardSigmoid: { inputs: [1, 1], outputs: [1, 1], attributes: { alpha: float, beta: float } },
  Clip: { inputs: [1, 3], outputs: [1, 1] },
  Cast: { inputs: [1, 1], outputs: [1, 1], attributes: { to: int(true) } },
  // Linear algebra and reductions.
  MatMul: binary,
  Conv: {
    inputs: [2, 3],
    outputs: [1, 1],
    attributes: {
      auto_pad: { kind: 'string' },
      dilations: { kind: 'ints' },
      group: int(),
      kernel_shape: { kind: 'ints' },
      pads: { kind: 'ints' },
      strides: { kind: 'ints' },
    },
  },
  Gemm: { inputs: [2, 3], outputs: [1, 1], attributes: { alpha: float, beta: float, transA: int(), transB: int() } },
  ReduceSum: { inputs: [1, 2], outputs: [1, 1], attributes: { keepdims: int(), noop_with_empty_axes: int() } },
  ReduceMean: reduceAttr,
  ReduceMax: reduceAttr,
  ReduceMin: reduceAttr,
  ReduceProd: reduceAttr,
  Softmax: { inputs: [1, 1], outputs: [1, 1], attributes: { axis: int() } },
  LogSoftmax: { inputs: [1, 1], outputs: [1, 1], attributes: { axis: int() } },
  CumSum: { inputs: [2, 2], outputs: [1, 1], attributes: { exclusive: int(), reverse: int() } },
  // Shapes and indexing.
  Shape: { inputs: [1, 1], outputs: [1, 1], attributes: { start: int(), end: int() } },
  Reshape: { inputs: [2, 2], outputs: [1, 1], attributes: { allowzero: int() } },
  Expand: binary,
  Concat: { inputs: [1, Number.POSITIVE_INFINITY], outputs: [1, 1], attributes: { axis: int(true) } },
  Slice: { inputs: [3, 5], outputs: [1, 1] },
  Gather: { inputs: [2, 2], outputs: [1, 1], attributes: { axis: int() } },
  Transpose: { inputs: [1, 1], outputs: [1, 1], attributes: { perm: { kind: 'ints' } } },
  Unsqueeze: binary,
  Squeeze: { inputs: [1, 2], outputs: [1, 1] },
  Tile: binary,
  Range: { inputs: [3, 3], outputs: [1, 1] },
  Flatten: { inputs: [1, 1], outputs: [1, 1], attributes: { axis: int() } },
  Split: { inputs: [1, 2], outputs: [1, Number.POSITIVE_INFINITY], attributes: { axis: int() } },
  ConstantOfShape: { inputs: [1, 1], outputs: [1, 1], attributes: { value: { kind: 'tensor' } } },
  Constant: {
    inputs: [0, 0],
    outputs: [1, 1],
    attributes: {
      value: { kind: 'tensor' },
      value_float: float,
      value_floats: { kind: 'floats' },
      value_int: int(),
      value_ints: { kind: 'ints' },
    },
  },
  // Control flow: bodies are subgraphs that may read outer-scope values.
  Loop: {
    inputs: [2, Number.POSITIVE_INFINITY],
    outputs: [1, Number.POSITIVE_INFINITY],
    optional: [0, 1],
    attributes: { body: { kind: 'graph', required: true } },
  },
  If: {
    inputs: [1, 1],
    outputs: [1, Number.POSITIVE_INFINITY],
    attributes: { then_branch: { kind: 'graph', required: true }, else_branch: { kind: 'graph', required: true } },
  },
});
