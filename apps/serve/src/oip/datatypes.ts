/**
 * Tensor element types: onnxruntime's names and the Open Inference Protocol's (KServe v2)
 * datatypes ("FP32", "INT64", …), and the JS values a JSON tensor of each may hold.
 */

const ORT_TO_V2: Readonly<Record<string, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

/** The v2 datatype of an onnxruntime element type ('float32' → 'FP32'); the upper-cased name when unknown. */
export function v2Datatype(ortType: string): string {
  return ORT_TO_V2[ortType] ?? ortType.toUpperCase();
}

/** A v2 shape: numbers stay, symbolic (dynamic) dims become -1. */
export function v2Shape(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/** The datatypes this server decodes from JSON (the element types of nfdm's graphs). */
export const DECODABLE = new Set(['FP32', 'FP64', 'INT32', 'INT64', 'BOOL']);
