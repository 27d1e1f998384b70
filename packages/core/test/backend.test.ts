import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, backendReport, describeBackend, initBackend } from '../src/index.js';

// In this repository @tensorflow/tfjs-node(-gpu) are optional peers that are not installed.
describe('backend selection', () => {
  it('auto picks wasm when tfjs-node is missing, and reports why tensorflow was skipped', async () => {
    const report = await initBackend('auto', { env: {} });
    expect(report.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(report.source).toBe('argument');
    const skipped = report.attempts.filter((a) => a.backend === 'tensorflow');
    expect(skipped.map((a) => a.module)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    for (const a of skipped) {
      expect(a.ok).toBe(false);
      expect(a.reason).toBe(`not installed (optional peer dependency: npm install ${a.module}@4.22.0)`);
    }
    expect(report.wasm).toEqual({ simd: true, threads: 1 });
    const text = describeBackend();
    expect(text).toMatch(/^backend: wasm/);
    expect(text).toMatch(/skipped tensorflow \(@tensorflow\/tfjs-node-gpu\): not installed/);
    expect(backendReport()).toBe(report);
  });

  it('a broken native binding is caught and reported, then wasm is used', async () => {
    const importer = async (name: string) => {
      if (name.startsWith('@tensorflow/tfjs-node')) {
        throw new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory\n    at Module._extensions');
      }
      return import(name);
    };
    const report = await initBackend(undefined, { env: {}, importer });
    expect(report.backend).toBe('wasm');
    expect(report.source).toBe('default');
    expect(report.attempts[0]).toEqual({
      backend: 'tensorflow',
      module: '@tensorflow/tfjs-node-gpu',
      ok: false,
      reason: 'libtensorflow.so.2: cannot open shared object file: No such file or directory',
    });
  });

  it('a package that loads but registers no backend is reported', async () => {
    const report = await initBackend('auto', { env: {}, importer: async (n) => (n.includes('tfjs-node') ? {} : import(n)) });
    expect(report.attempts[1].reason).toMatch(/registered no tensorflow backend/);
    expect(report.backend).toBe('wasm');
  });

  it('wasm failing falls back to cpu in auto mode', async () => {
    const importer = async (name: string) => {
      if (name === '@tensorflow/tfjs-backend-wasm') throw new Error('WebAssembly.instantiate(): out of memory');
      return import(name);
    };
    const report = await initBackend('auto', { env: {}, importer });
    expect(report.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(report.attempts.find((a) => a.backend === 'wasm')?.reason).toBe('WebAssembly.instantiate(): out of memory');
  });

  it('forcing an unavailable backend throws a clear error naming the cause', async () => {
    const attempt = initBackend('tensorflow', { env: {} });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initBackend('tensorflow', { env: {} })).rejects.toThrow(
      /backend 'tensorflow' is not available \(@tensorflow\/tfjs-node-gpu: not installed .*; @tensorflow\/tfjs-node: not installed/,
    );
  });

  it('NFDM_BACKEND overrides auto; an explicit name overrides NFDM_BACKEND', async () => {
    const fromEnv = await initBackend(undefined, { env: { NFDM_BACKEND: 'cpu' } });
    expect(fromEnv.backend).toBe('cpu');
    expect(fromEnv.source).toBe('env');
    expect(describeBackend()).toMatch(/requested cpu \(from NFDM_BACKEND\)/);
    expect(fromEnv.attempts.filter((a) => !a.ok).map((a) => a.backend)).toEqual(['tensorflow', 'wasm']);
    const explicit = await initBackend('wasm', { env: { NFDM_BACKEND: 'cpu' } });
    expect(explicit.backend).toBe('wasm');
    expect(explicit.source).toBe('argument');
  });

  it('unknown names are rejected, from the argument and from the environment', async () => {
    await expect(initBackend('gpu' as 'cpu', { env: {} })).rejects.toThrow(
      "unknown backend 'gpu': expected one of auto, tensorflow, wasm, cpu",
    );
    await expect(initBackend(undefined, { env: { NFDM_BACKEND: 'webgl' } })).rejects.toThrow(/NFDM_BACKEND='webgl' is not a backend/);
  });
});
