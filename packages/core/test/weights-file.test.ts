import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectParameters,
  decodeWeights,
  encodeWeights,
  initBackend,
  loadParameters,
  MLP,
  SinusoidalEmbedding,
  saveParameters,
  TimeMLP,
  WeightFileError,
} from '../src/index.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'nfdm-weights-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bits(net: { parameters(): Map<string, tf.Variable> }): Map<string, Uint32Array> {
  const out = new Map<string, Uint32Array>();
  for (const [k, v] of net.parameters()) out.set(k, new Uint32Array(Float32Array.from(v.dataSync() as Float32Array).buffer));
  return out;
}

describe('weight files (safetensors layout)', () => {
  it('round-trips bit-exactly, including non-trainable buffers and metadata', () => {
    const a = new TimeMLP({ dataDim: 2, outDim: 4, hidden: [8, 8], embedding: new SinusoidalEmbedding({ dim: 6 }), rng: 1 });
    const b = new TimeMLP({
      dataDim: 2,
      outDim: 4,
      hidden: [8, 8],
      embedding: new SinusoidalEmbedding({ dim: 6, maxFrequency: 3 }),
      rng: 2,
    });
    // Values that stress bit-exactness: subnormals, −0, extremes.
    tf.tidy(() => a.net.layers[0].bias.assign(tf.tensor1d([1e-45, -0, 3.4028234e38, -1.1754942e-38, Math.PI, 1 / 3, -2, 7])));
    const path = join(dir, 'a.safetensors');
    saveParameters(a, path, { kind: 'test', dims: '2' });
    expect(bits(a)).not.toEqual(bits(b));
    const meta = loadParameters(b, path);
    expect(meta).toEqual({ kind: 'test', dims: '2' });
    expect(bits(b)).toEqual(bits(a));
    // The header is 8-byte aligned JSON with F32 entries.
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    expect(header['net.layers.0.weight']).toEqual({ dtype: 'F32', shape: [8, 8], data_offsets: expect.any(Array) });
    expect(header['embedding.frequencies'].shape).toEqual([3]);
    a.dispose();
    b.dispose();
  });

  it('a truncated file gives a clear error and assigns nothing', () => {
    const net = new MLP({ inDim: 3, outDim: 2, hidden: [5], rng: 4 });
    const path = join(dir, 'trunc.safetensors');
    saveParameters(net, path);
    const full = readFileSync(path);
    const before = bits(net);
    const other = new MLP({ inDim: 3, outDim: 2, hidden: [5], rng: 9 });
    const otherBefore = bits(other);
    writeFileSync(path, full.subarray(0, full.length - 6));
    expect(() => loadParameters(other, path)).toThrow(/tensor 'layers\.1\.bias': file is truncated/);
    expect(bits(other)).toEqual(otherBefore);
    writeFileSync(path, full.subarray(0, 20));
    expect(() => loadParameters(other, path)).toThrow(/file is truncated: header needs/);
    writeFileSync(path, full.subarray(0, 5));
    expect(() => loadParameters(other, path)).toThrow(WeightFileError);
    expect(bits(net)).toEqual(before);
    net.dispose();
    other.dispose();
  });

  it('a wrong shape names the tensor and both shapes', () => {
    const small = new MLP({ inDim: 3, outDim: 2, hidden: [5], rng: 4 });
    const wide = new MLP({ inDim: 3, outDim: 2, hidden: [6], rng: 4 });
    const path = join(dir, 'shape.safetensors');
    saveParameters(small, path);
    expect(() => loadParameters(wide, path)).toThrow("tensor 'layers.0.weight': shape [3,5] in the file, the model expects [3,6]");
    small.dispose();
    wide.dispose();
  });

  it('a wrong dtype names the tensor', () => {
    const tensors = new Map([['layers.0.weight', { shape: [2], data: new Float32Array([1, 2]) }]]);
    const bytes = encodeWeights(tensors);
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    const header = Buffer.from(bytes.subarray(8, 8 + n))
      .toString()
      .replace('"F32"', '"I32"');
    const patched = Buffer.concat([Buffer.from(bytes.subarray(0, 8)), Buffer.from(header), Buffer.from(bytes.subarray(8 + n))]);
    expect(() => decodeWeights(patched)).toThrow("tensor 'layers.0.weight': dtype I32 is not supported (nfdm weights are float32, F32)");
    const f64 = Buffer.from(header.replace('"I32"', '"F64"').replace('[0,8]', '[0,16]'));
    const padded = Buffer.concat([Buffer.from(bytes.subarray(0, 8)), f64, Buffer.from(bytes.subarray(8 + n)), Buffer.alloc(8)]);
    padded.writeBigUInt64LE(BigInt(f64.length), 0);
    expect(() => decodeWeights(padded)).toThrow(/tensor 'layers\.0\.weight': dtype F64 is not supported/);
  });

  it('missing and unexpected tensors are named; non-strict loading ignores extras', () => {
    const net = new MLP({ inDim: 2, outDim: 1, hidden: [3], rng: 1 });
    const bigger = collectParameters({ '': net, extra: new MLP({ inDim: 1, outDim: 1, hidden: [], rng: 2 }) });
    const path = join(dir, 'extra.safetensors');
    saveParameters(bigger, path);
    expect(() => loadParameters(net, path)).toThrow("tensor 'extra.layers.0.weight': is in the weight file but not in the model");
    expect(() => loadParameters(net, path, { strict: false })).not.toThrow();
    expect(() => loadParameters(bigger, encodeWeights(new Map()))).toThrow("tensor 'layers.0.weight': missing from the weight file");
    net.dispose();
  });

  it('garbage and unreadable paths give one clear error', () => {
    const junk = new Uint8Array(64).fill(0x41);
    expect(() => decodeWeights(junk)).toThrow(/implausible|truncated/);
    const net = new MLP({ inDim: 2, outDim: 1, hidden: [], rng: 1 });
    expect(() => loadParameters(net, join(dir, 'nope.safetensors'))).toThrow(/cannot read weight file/);
    net.dispose();
  });

  it('saving over an existing file replaces it atomically (no temporary files left)', () => {
    const net = new MLP({ inDim: 2, outDim: 1, hidden: [2], rng: 1 });
    const path = join(dir, 'atomic.safetensors');
    saveParameters(net, path);
    saveParameters(net, path);
    const leftovers = readdirSync(dir).filter((f) => f.includes('.tmp-'));
    expect(leftovers).toEqual([]);
    net.dispose();
  });
});
