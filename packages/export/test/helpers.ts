/** Shared fixtures of the export tests: small models, random inputs, onnxruntime calls, comparisons. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@nfdm/core';
import { createModel, type DiffusionModel, type ModelConfig, modelConfig } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

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

/** Directory collecting every exported file for the onnx.checker pass. */
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

export const PYTHON = '/usr/bin/python3';

/**
 * Run onnx.checker.check_model(full_check=True) on every file with one Python process and return
 * each file's metadata_props. Fails with a clear message when python3-onnx is missing.
 */
export function onnxCheck(files: string[]): Record<string, Record<string, string>> {
  if (!existsSync(PYTHON))
    throw new Error(`${PYTHON} not found: install python3 and python3-onnx (apt-get install python3-onnx) to run the ONNX checker tests`);
  try {
    execFileSync(PYTHON, ['-c', 'import onnx'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      'python3-onnx is not installed (import onnx failed): apt-get install python3-onnx — the exported files must pass onnx.checker',
    );
  }
  const script = [
    'import json, sys, onnx',
    'out = {}',
    'for path in sys.argv[1:]:',
    '    m = onnx.load(path)',
    '    onnx.checker.check_model(m, full_check=True)',
    '    assert m.ir_version == 8, m.ir_version',
    "    assert [(o.domain, o.version) for o in m.opset_import] == [('', 17)], m.opset_import",
    '    out[path] = {p.key: p.value for p in m.metadata_props}',
    'print(json.dumps(out))',
  ].join('\n');
  const stdout = execFileSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** The model's own config (for metadata round trips). */
export function configOf(model: DiffusionModel): ModelConfig {
  return modelConfig(model);
}
