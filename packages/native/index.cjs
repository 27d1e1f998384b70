'use strict';
/**
 * @nfdm/native: fused MLP-with-time-tangents kernels, NHWC convolutions and GroupNorm(+SiLU) jets as a Node addon (see README.md).
 * `loadNative()` returns the addon — a build from source for this machine when one is present,
 * else the best prebuilt variant of this platform's package for this CPU (lib/select.cjs) — or
 * null when none loads here; `nativeStatus()` says which one runs and why.
 */
const { platformId } = require('./lib/platforms.cjs');
const { selectAddon } = require('./lib/select.cjs');

/** Activations the kernels implement, in the order of their native codes. */
const NATIVE_ACTIVATIONS = Object.freeze(['identity', 'selu', 'silu', 'tanh', 'softplus', 'sigmoid', 'relu', 'gelu-tanh']);

let state;

function activationCode(name) {
  if (name === null || name === undefined) return -1;
  const code = NATIVE_ACTIVATIONS.indexOf(name);
  if (code < 0) throw new RangeError(`@nfdm/native does not implement activation '${name}' (supported: ${NATIVE_ACTIVATIONS.join(', ')})`);
  return code;
}

// Recycled `saved` buffers, by length (the same sizes recur every training step; a fresh
// multi-megabyte Float32Array per call costs more in page faults than the kernels).
const POOL_MAX_BYTES = 256 * 1024 * 1024;
const POOL_MAX_PER_SIZE = 8;
const pool = new Map();
let pooledBytes = 0;

function takeSaved(length) {
  const list = pool.get(length);
  if (!list || list.length === 0) return true; // let the addon allocate
  const buffer = list.pop();
  pooledBytes -= buffer.byteLength;
  return buffer;
}

function giveSaved(buffer) {
  if (!(buffer instanceof Float32Array)) return;
  let list = pool.get(buffer.length);
  if (!list) {
    list = [];
    pool.set(buffer.length, list);
  }
  if (list.length >= POOL_MAX_PER_SIZE || pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return;
  list.push(buffer);
  pooledBytes += buffer.byteLength;
}

/** Length of the saved buffer: R·(n_0 + … + n_{L−1}) + R·Σ widths after activated layers. */
function savedLength(inputLength, batch, order, biases, outputActivation) {
  const rows = (order + 1) * batch;
  const L = biases.length;
  let total = inputLength;
  for (let l = 0; l < L; l++) {
    // Hidden layers keep their output a_{l+1} and their activation derivatives.
    if (l < L - 1) total += 2 * rows * biases[l].length;
    else if (outputActivation !== null && outputActivation !== undefined) total += rows * biases[l].length;
  }
  return total;
}

function wrap(raw, path) {
  return Object.freeze({
    path,
    activations: NATIVE_ACTIVATIONS,
    info: () => raw.info(),
    setThreads: (n) => raw.setThreads(n),
    mlpJetForward(input, batch, order, weights, biases, activation, outputActivation = null, save = true) {
      const target = save === false ? false : takeSaved(savedLength(input.length, batch, order, biases, outputActivation));
      const [output, saved] = raw.mlpJetForward(
        input,
        batch,
        order,
        weights,
        biases,
        activationCode(activation),
        activationCode(outputActivation),
        target,
      );
      return { output, saved };
    },
    conv2dForward(x, shape, kernel, k, stride = 1, bias = null, valueImages = shape[0], out = null) {
      const [n, h, w, c] = shape;
      return raw.conv2dForward(x, n, h, w, c, kernel, k, stride, bias, valueImages, out);
    },
    conv2dBackward(dOutput, x, shape, kernel, k, stride = 1, options = {}) {
      const [n, h, w, c] = shape;
      const bias = options.bias === true;
      const [dInput, dKernel, dBias] = raw.conv2dBackward(
        dOutput,
        x,
        n,
        h,
        w,
        c,
        kernel,
        k,
        stride,
        bias,
        options.valueImages ?? n,
        options.input !== false,
        options.out ?? null,
      );
      return { dInput, dKernel, dBias };
    },
    concatChannels(inputs, pixels, out = null) {
      return raw.concatChannels(inputs, pixels, out);
    },
    splitChannels(input, pixels, widths, outs = null) {
      return raw.splitChannels(input, pixels, widths, outs);
    },
    groupNormJetForward(x, shape, order, groups, epsilon, gamma, beta, options = {}) {
      const [n, h, w, c] = shape;
      const [output, stats] = raw.groupNormForward(
        x,
        n,
        h * w,
        c,
        order,
        groups,
        epsilon,
        gamma,
        beta,
        options.shift ?? null,
        options.silu === true,
        options.out ?? null,
      );
      return { output, stats };
    },
    groupNormJetBackward(dOutput, x, shape, order, groups, stats, gamma, beta, options = {}) {
      const [n, h, w, c] = shape;
      const [dInput, dGamma, dBeta, dShift] = raw.groupNormBackward(
        dOutput,
        x,
        n,
        h * w,
        c,
        order,
        groups,
        stats,
        gamma,
        beta,
        options.shift ?? null,
        options.silu === true,
        options.out ?? null,
      );
      return { dInput, dGamma, dBeta, dShift };
    },
    mlpJetBackward(dOutput, saved, batch, order, weights, activation, outputActivation = null, release = false) {
      const [dInput, dWeights, dBiases] = raw.mlpJetBackward(
        dOutput,
        saved,
        batch,
        order,
        weights,
        activationCode(activation),
        activationCode(outputActivation),
      );
      if (release === true) giveSaved(saved);
      return { dInput, dWeights, dBiases };
    },
  });
}

function load() {
  if (state) return state;
  const platform = platformId();
  const pick = selectAddon({ packageRoot: __dirname, requireFn: require, platform });
  state = pick.raw
    ? {
        addon: wrap(pick.raw, pick.path),
        reason: null,
        why: pick.reason,
        path: pick.path,
        kind: pick.kind,
        package: pick.package,
        variant: pick.variant,
        platform,
      }
    : { addon: null, reason: pick.reason, why: null, path: null, kind: null, package: null, variant: null, platform };
  return state;
}

/** The addon, or null when no build of it loads here (see nativeStatus().reason). */
function loadNative() {
  return load().addon;
}

/**
 * Which build runs and why: `kind` 'prebuilt' (from `package`, e.g. @nfdm/native-linux-x64-gnu)
 * or 'source' (build/nfdm_native.node), `variant` its instruction-set level ('x86-64-v4', …, or
 * 'native'), `selection` why it was chosen; or `available: false` and `reason` why none loaded.
 */
function nativeStatus() {
  const s = load();
  return {
    available: s.addon !== null,
    reason: s.reason,
    path: s.path,
    kind: s.kind,
    package: s.package,
    variant: s.variant,
    selection: s.why,
    platform: s.platform,
  };
}

module.exports = { NATIVE_ACTIVATIONS, loadNative, nativeStatus };
