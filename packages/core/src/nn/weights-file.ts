/**
 * Portable weight files in the safetensors layout (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes: little-endian uint64 N] [N bytes: JSON header, space-padded to a multiple of 8]
 *   [data: each tensor's little-endian bytes at header[name].data_offsets = [begin, end)]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets}; the optional
 * "__metadata__" entry maps strings to strings. nfdm writes float32 ("F32") only and reads
 * F32 only, so files round-trip bit-exactly and can be opened by the `safetensors` Python
 * package (`safetensors.numpy.load_file`).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Module, NamedVariables } from './module.js';

/** A float32 tensor as stored in a weight file. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

/** A decoded weight file. */
export interface WeightFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

/** A malformed file, or a file that does not fit the module; names the tensor at fault. */
export class WeightFileError extends Error {
  override readonly name = 'WeightFileError';
  constructor(
    message: string,
    readonly tensor?: string,
  ) {
    super(tensor === undefined ? message : `tensor '${tensor}': ${message}`);
  }
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Encode float32 tensors (and string metadata) as safetensors bytes. Names are kept in the given order. */
export function encodeWeights(tensors: Map<string, StoredTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new WeightFileError('the name __metadata__ is reserved', name);
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new WeightFileError(`shape [${t.shape}] needs ${expected} values, got ${t.data.length}`, name);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, position += 4) view.setFloat32(position, t.data[i], true);
  }
  return out;
}

/** Decode safetensors bytes; every structural problem raises a {@link WeightFileError}. */
export function decodeWeights(bytes: Uint8Array): WeightFile {
  if (bytes.length < 8) throw new WeightFileError(`file is truncated: ${bytes.length} bytes, the 8-byte header length is missing`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new WeightFileError(`header length ${n} is implausible (not a safetensors file?)`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) {
    throw new WeightFileError(`file is truncated: header needs ${headerLength} bytes, only ${bytes.length - 8} present`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch (error) {
    throw new WeightFileError(`header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new WeightFileError('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_BYTES))
      throw new WeightFileError(`unknown dtype ${JSON.stringify(e?.dtype)}`, name);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new WeightFileError(`bad shape ${JSON.stringify(e.shape)}`, name);
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new WeightFileError(`bad data_offsets ${JSON.stringify(offsets)}`, name);
    }
    const shape = e.shape as number[];
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * DTYPE_BYTES[e.dtype]) {
      throw new WeightFileError(
        `data_offsets span ${end - begin} bytes but ${e.dtype}[${shape}] needs ${count * DTYPE_BYTES[e.dtype]}`,
        name,
      );
    }
    if (end > dataLength)
      throw new WeightFileError(`file is truncated: data ends at byte ${dataStart + end}, file has ${bytes.length}`, name);
    if (e.dtype !== 'F32') throw new WeightFileError(`dtype ${e.dtype} is not supported (nfdm weights are float32, F32)`, name);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

/** Snapshot a module's (or a name → variable map's) values as stored tensors. */
export function snapshotParameters(source: Module | NamedVariables): Map<string, StoredTensor> {
  const params = source instanceof Map ? source : source.parameters();
  const out = new Map<string, StoredTensor>();
  for (const [name, v] of params) out.set(name, { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
  return out;
}

/**
 * Write a module's parameters to `path` atomically: a temporary file in the same folder is
 * written and fsynced, then renamed over `path`, so a crash never leaves a half-written file.
 */
export function saveParameters(source: Module | NamedVariables, path: string, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeWeights(snapshotParameters(source), metadata));
}

/**
 * Assign the tensors of a weight file (path, bytes or decoded) to a module's variables.
 * Every variable must be present with the same shape; with `strict` (default) the file may
 * hold no other tensors. Nothing is assigned unless every check passes.
 * Returns the file's metadata.
 */
export function loadParameters(
  target: Module | NamedVariables,
  source: string | Uint8Array | WeightFile,
  options: { strict?: boolean } = {},
): Record<string, string> {
  const file = typeof source === 'string' ? decodeWeights(readFile(source)) : source instanceof Uint8Array ? decodeWeights(source) : source;
  const params = target instanceof Map ? target : target.parameters();
  for (const [name, v] of params) {
    const stored = file.tensors.get(name);
    if (!stored) throw new WeightFileError('missing from the weight file', name);
    if (stored.shape.length !== v.shape.length || stored.shape.some((d, i) => d !== v.shape[i])) {
      throw new WeightFileError(`shape [${stored.shape}] in the file, the model expects [${v.shape}]`, name);
    }
  }
  if (options.strict ?? true) {
    for (const name of file.tensors.keys()) {
      if (!params.has(name)) throw new WeightFileError('is in the weight file but not in the model', name);
    }
  }
  for (const [name, v] of params) {
    const stored = file.tensors.get(name) as StoredTensor;
    tf.tidy(() => v.assign(tf.tensor(stored.data, [...v.shape], 'float32')));
  }
  return file.metadata;
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new WeightFileError(`cannot read weight file ${path}: ${(error as Error).message}`);
  }
}

/** Write bytes to `path` via a fsynced temporary file and a rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  try {
    const dirFd = openSync(dirname(path), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // Directory fsync is best effort (not supported on every filesystem).
  }
}
