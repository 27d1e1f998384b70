/** Shared fixtures of the export tests: small models, random inputs, onnxruntime calls, comparisons. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@nfdm/core';
import { createModel, type DiffusionModel, type ModelConfig, modelConfig } from '@nfdm/models';
import { type ConditionMeta, readOnnxMetadata, type TensorSignature } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { decodeModel, type ValueInfoProto } from '../src/onnx/proto.js';
import { validateOnnxModel } from '../src/onnx/validate.js';

export const ATOL = 1e-5;
export const RTOL = 1e-4;

/** Largest |a − b| and the largest violation ratio |a − b| / (atol + rtol |b|). */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = ATOL, rtol = RTOL) {
  expect(actual.length).toBe(expected.length);
  let maxAbs = 0;
  let worst = 0;
  let maxRel = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
    worst = Math.max(worst, d / (atol + rtol * Math.abs(expected[i])));
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(expected[i]), 1e-30));
    if (Number.isNaN(d)) worst = Number.POSITIVE_INFINITY;
  }
  return { maxAbs, maxRel, worst };
}

/** Records the error magnitudes of every comparison for the summary printed at the end. */
export const errorLog: Array<{ what: string; maxAbs: number; maxRel: number }> = [];

/** Assert allclose(actual, expected) with the parity tolerances; logs the error. */
export function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol = ATOL, rtol = RTOL): void {
  const c = compare(actual, expected, atol, rtol);
  errorLog.push({ what, maxAbs: c.maxAbs, maxRel: c.maxRel });
  if (!(c.worst <= 1)) {
    throw new Error(
      `${what}: max |Δ| = ${c.maxAbs.toExponential(3)} exceeds atol ${atol} + rtol ${rtol}·|expected| (worst ratio ${c.worst.toFixed(2)})`,
    );
  }
}

export function printErrorLog(title: string): void {
  const byAbs = [...errorLog].sort((a, b) => b.maxAbs - a.maxAbs);
  const worstRel = [...errorLog].sort((a, b) => b.maxRel - a.maxRel)[0];
  const lines = byAbs.map((e) => `  ${e.what.padEnd(58)} max|Δ| ${e.maxAbs.toExponential(2)}  max rel ${e.maxRel.toExponential(2)}`);
  console.log(
    `${title} (${errorLog.length} comparisons; largest relative: ${worstRel?.what} ${worstRel?.maxRel.toExponential(2)})\n${lines.join('\n')}`,
  );
}

/** A model config with small networks (fast tests). */
export function smallConfig(partial: Partial<ModelConfig> & Pick<ModelConfig, 'forward'>, seed = 1): ModelConfig {
  return {
    format: 'nfdm-model/1',
    dim: 2,
    predictor: { hidden: [16, 16], activation: 'selu' },
    volatility: { kind: 'neural', hidden: [8], activation: 'selu', floor: 1e-3 },
    seed,
    ...partial,
  } as ModelConfig;
}

/**
 * Build a model and scale its trainable weights by `gain` (default 2) so that activations run in
 * their nonlinear range (torch's default init keeps small nets nearly linear).
 */
export function makeModel(config: ModelConfig, gain = 2): DiffusionModel {
  const model = createModel(config);
  tf.tidy(() => {
    for (const v of model.parameters().values()) if (v.trainable) v.assign(tf.mul(v, gain));
  });
  return model;
}

/** Random z [N, D] (std 1.5) and per-sample t in [lo, hi]. */
export function randomInputs(N: number, D: number, lo: number, hi: number, seed = 7) {
  const rng = new Rng(seed);
  const z = rng.normalArray(N * D, 0, 1.5);
  const t = rng.uniformArray(N, lo, hi);
  return { z, t };
}

export async function runOnnx(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

export const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** Directory collecting every exported file for the structural checks ({@link checkOnnxFiles}). */
export function exportDir(): string {
  const dir = join(tmpdir(), 'nfdm-export-test');
  mkdirSync(dir, { recursive: true });
  return mkdtempSync(join(dir, 'run-'));
}

export function saveFile(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** The model's own config (for metadata round trips). */
export function configOf(model: DiffusionModel): ModelConfig {
  return modelConfig(model);
}

/** A symbolic dimension ('N', 'S', …) is fed this size. */
const SYMBOLIC_DIM = 3;

/** Element types of the graph signatures → onnxruntime tensor types. */
const ORT_TYPES: Record<number, 'float32' | 'int64' | 'int32' | 'bool' | 'float64'> = {
  1: 'float32',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  11: 'float64',
};

function declaredDims(v: ValueInfoProto): Array<number | string> | null {
  const dims = v.type?.tensorType?.shape?.dim;
  return dims ? dims.map((d) => d.dimValue ?? d.dimParam ?? '?') : null;
}

/**
 * Synthetic feeds for a graph's declared inputs: symbolic dims of size 3 (unless the nfdm
 * metadata signature fixes them, e.g. DiffFlow's noise [K − 1, N, D]); float32 `t` in
 * [0.1, 0.9], labels (the `condition` of a label-conditional model) 0, 1, …, K cyclically, other
 * floats seeded normals; int64 inputs (step counts) 3; bools true.
 */
function syntheticFeeds(
  inputs: ValueInfoProto[],
  signature: TensorSignature[],
  seed: number,
  condition?: ConditionMeta,
): Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const shape = signature.find((s) => s.name === input.name)?.shape ?? declaredDims(input) ?? [];
    const dims = shape.map((d) => (typeof d === 'number' ? d : SYMBOLIC_DIM));
    const size = dims.reduce((a, b) => a * b, 1);
    const type = ORT_TYPES[input.type?.tensorType?.elemType ?? 0];
    if (type === 'float32') {
      const labels = input.name === 'condition' && condition?.kind === 'label' ? condition.classes + 1 : 0;
      const values =
        input.name === 't'
          ? Float32Array.from({ length: size }, (_, i) => 0.1 + (0.8 * (i + 0.5)) / size)
          : labels > 0
            ? Float32Array.from({ length: size }, (_, i) => i % labels)
            : rng.normalArray(size);
      feeds[input.name] = new ort.Tensor('float32', values, dims);
    } else if (type === 'int64') {
      feeds[input.name] = new ort.Tensor('int64', new BigInt64Array(size).fill(BigInt(SYMBOLIC_DIM)), dims);
    } else if (type === 'bool') {
      feeds[input.name] = new ort.Tensor('bool', new Uint8Array(size).fill(1), dims);
    } else {
      throw new Error(`no synthetic feed for input '${input.name}' of element type ${input.type?.tensorType?.elemType}`);
    }
  }
  return feeds;
}

/**
 * The checks every exported file passes in `npm test`, without Python: {@link validateOnnxModel}
 * finds no problem (registry, topological order, SSA, types…), and onnxruntime loads the file
 * and runs it on synthetic inputs built from the declared signature, returning every declared
 * output with its declared element type and shape (symbolic dims bound to 3), all finite.
 * The official onnx.checker (full_check) runs on the same kinds of files in the system suite.
 */
export async function checkOnnxFiles(files: string[]): Promise<void> {
  expect(files.length).toBeGreaterThan(0);
  for (const [i, file] of files.entries()) {
    const bytes = new Uint8Array(readFileSync(file));
    expect(validateOnnxModel(bytes), file).toEqual([]);
    const graph = decodeModel(bytes).graph;
    const session = await ort.InferenceSession.create(bytes);
    try {
      const meta = readOnnxMetadata(bytes);
      const out = await session.run(syntheticFeeds(graph.input ?? [], meta.signature.inputs, 100 + i, meta.condition));
      expect(Object.keys(out).sort(), file).toEqual((graph.output ?? []).map((o) => o.name).sort());
      for (const declared of graph.output ?? []) {
        const tensor = out[declared.name];
        expect(tensor.type, `${file}: ${declared.name}`).toBe(ORT_TYPES[declared.type?.tensorType?.elemType ?? 0]);
        const dims = declaredDims(declared);
        if (dims) expect(tensor.dims, `${file}: ${declared.name}`).toEqual(dims.map((d) => (typeof d === 'number' ? d : SYMBOLIC_DIM)));
        if (tensor.type === 'float32') {
          const bad = (tensor.data as Float32Array).findIndex((v) => !Number.isFinite(v));
          expect(bad, `${file}: ${declared.name} has a non-finite value`).toBe(-1);
        }
      }
    } finally {
      await session.release();
    }
  }
}
