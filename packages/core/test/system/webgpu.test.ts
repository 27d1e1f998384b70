/**
 * tfjs's WebGPU backend (Dawn's Node binding, `webgpu`) against wasm, where a WebGPU adapter
 * exists — in CI a software one: Mesa's lavapipe Vulkan driver (`.ci/run` installs it), i.e. the
 * CPU emulating a GPU. The MLP jet of order 2 and the U-Net jet of order 1, forward values and
 * every gradient, are computed on wasm, then on webgpu (same seeds, so the same weights), read
 * with `await data()` (synchronous reads are not available on webgpu in Node).
 * No real GPU was available to this project: this shows the tfjs-op paths are right on WebGPU,
 * not that they are fast.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend, Jet, MLP, Rng, UNet, WEBGPU_SYNC_READ_ERROR } from '../../src/index.js';

/** Tolerance: max |Δ| / max(1e-3, max |wasm|) over each output — that of the native parity tests. */
const TOL = 2e-5;

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Outputs and gradients of the MLP and U-Net jets on the current backend, read asynchronously. */
async function compute(): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  const rng = new Rng(11);
  const net = new MLP({ inDim: 3, outDim: 4, hidden: [64, 33], activation: 'silu', rng: 3 });
  const x = tf.variable(rng.normalTensor([3 * 37, 3]) as tf.Tensor2D, true);
  const cot = rng.normalTensor([3 * 37, 4]);
  const unet = new UNet({ height: 8, width: 8, inChannels: 1, outChannels: 1, base: 8, multipliers: [1, 2], groups: 2, rng: 1 });
  const img = tf.variable(rng.normalTensor([4, 8, 8, 1]) as tf.Tensor4D, true);
  const t = tf.tensor2d([[0.1], [0.4], [0.7], [0.9]]);
  const R = rng.normalTensor([8, 8, 8, 1]);
  const record = async (name: string, value: tf.Tensor, loss: () => tf.Scalar, vars: tf.Variable[]) => {
    out[`${name} value`] = (await value.data()) as Float32Array;
    const { grads } = tf.variableGrads(loss, vars);
    // (A parameter the loss does not reach has no gradient.)
    for (const [i, v] of vars.entries()) if (grads[v.name]) out[`${name} ∂${i}`] = (await grads[v.name].data()) as Float32Array;
    tf.dispose([value, ...Object.values(grads)]);
  };
  await record(
    'mlp',
    net.applyJet(new Jet(x as unknown as tf.Tensor2D, 2)).data,
    () => tf.sum(tf.mul(net.applyJet(new Jet(x as unknown as tf.Tensor2D, 2)).data, cot)),
    [x, ...(net.parameters().values() as Iterable<tf.Variable>)],
  );
  await record(
    'unet',
    unet.jet(img as unknown as tf.Tensor4D, t, 1).data,
    () => tf.sum(tf.mul(unet.jet(img as unknown as tf.Tensor4D, t, 1).data, R)),
    [img, ...(unet.parameters().values() as Iterable<tf.Variable>)],
  );
  net.dispose();
  unet.dispose();
  tf.dispose([x, cot, img, t, R]);
  return out;
}

describe('the webgpu backend against wasm (needs a WebGPU adapter)', () => {
  it('starts: an adapter exists here', async () => {
    const report = await initBackend('webgpu', { env: {} });
    expect(report.backend).toBe('webgpu');
    expect(report.nativeKernels).toMatchObject({ enabled: false, reason: "not used on the 'webgpu' backend" });
  });

  it('MLP (order 2) and U-Net (order 1) jets: values and every gradient equal wasm within 2e-5', async () => {
    await initBackend('wasm', { env: {} });
    const wasm = await compute();
    await initBackend('webgpu', { env: {} });
    const gpu = await compute();
    expect(Object.keys(gpu)).toEqual(Object.keys(wasm));
    expect(Object.keys(gpu).length).toBeGreaterThan(20);
    const errors = Object.keys(wasm).map((name) => [name, relErr(gpu[name], wasm[name])] as const);
    for (const [name, err] of errors) expect(err, name).toBeLessThan(TOL);
    console.log(
      `webgpu vs wasm: worst relative error ${Math.max(...errors.map(([, e]) => e)).toExponential(2)} over ${errors.length} outputs`,
    );
  });

  it('a synchronous read fails with one clear line', async () => {
    await initBackend('webgpu', { env: {} });
    // Large enough to be computed on the GPU (tfjs keeps small results on the CPU side).
    const y = tf.add(tf.ones([64, 64]), tf.ones([64, 64]));
    expect(() => y.dataSync()).toThrow(WEBGPU_SYNC_READ_ERROR);
    expect(new Set(await y.data())).toEqual(new Set([2]));
    y.dispose();
  });
});
