import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@nfdm/core';
import { createModel, type DiffusionModel, MODEL_FORMAT } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { arraySource, type DataSource } from '../../src/index.js';

/** A tiny NFDM (learned process, predictor and volatility), deterministic from `seed`. */
export function tinyModel(seed = 7): DiffusionModel {
  return createModel({
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: 'nfdm', hidden: [8] },
    predictor: { hidden: [8] },
    volatility: { kind: 'neural', hidden: [8] },
    seed,
  });
}

/** Two Gaussian blobs, 256 rows, fixed by their own seed. */
export function blobs(): { rows: Float32Array; source: DataSource } {
  const rng = new Rng(123);
  const n = 256;
  const rows = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = rng.int(2) === 0 ? -1.5 : 1.5;
    rows[2 * i] = c + 0.3 * rng.normal();
    rows[2 * i + 1] = -c + 0.3 * rng.normal();
  }
  return { rows, source: arraySource(rows, n, 2) };
}

export function evalSet(rows: Float32Array, n = 32): tf.Tensor2D {
  return tf.tensor2d(rows.slice(0, n * 2), [n, 2]);
}

/** The bits of every variable, by name. */
export function bits(vars: Map<string, tf.Variable>): Map<string, number[]> {
  return new Map([...vars].map(([k, v]) => [k, Array.from(new Uint32Array(Float32Array.from(v.dataSync() as Float32Array).buffer))]));
}

/** sha256 of every file of a directory, by name. */
export function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort())
    out[f] = createHash('sha256')
      .update(readFileSync(join(dir, f)))
      .digest('hex');
  return out;
}
