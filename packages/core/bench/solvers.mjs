/**
 * Benchmark: the ODE solver and the log-density integrator on a learned-looking 2-D field.
 *
 * Field: a plain tfjs MLP [y, t] → 64 → 64 → 2 with tanh, fixed random weights drawn from
 * the seeded Rng (see `mlpField`). Workloads, each timed as the median wall time of
 * `--reps` runs after one warm-up:
 * - `dopri5`: dopri5 with a PID controller, rtol = atol = 1e-5, t = 0 → 1, on `--points`
 *   standard-normal points;
 * - `logDensity`: `logDensityODE` on the same points and field (exact divergence, 2 reverse
 *   passes per evaluation, dopri5 with rtol = atol = 1e-5, standard-normal prior at t = 1).
 *
 * `fieldEvalMs` / `fieldEvalPlusVjpMs` time one field evaluation (and one with its reverse
 * pass) on the same points, so `medianMs − nfe · fieldEvalMs` is the solver's own overhead.
 *
 * Usage: node bench/solvers.mjs [--backend wasm|cpu] [--reps N] [--points N]
 *   → one JSON object on stdout (nothing else is printed).
 * Also exports `runSolverBench(options)` returning the same object.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, logDensityODE, MLP, nativeKernelsStatus, PIDController, Rng, solve } from '../dist/index.js';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

/**
 * `x W` with a hand-written gradient that uses explicit transposes: on wasm the default
 * matMul gradient runs `matMul(dy, W, false, true)`, ~13× slower than `matMul(dy, Wᵀ)` for
 * these shapes (docs/architecture.md), which would otherwise dominate the divergence passes.
 */
const matMul = tf.customGrad((x, w, save) => {
  save([x, w]);
  return { value: tf.matMul(x, w), gradFunc: (dy, [xs, ws]) => [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)] };
});

/**
 * A tiny MLP vector field v(t, y) = W3 tanh(W2 tanh(W1 [y, t] + b1) + b2) + b3 with weights
 * N(0, (gain² / fan_in)) and biases N(0, 0.01). Gain 2 makes the flow move points by O(1)
 * over t ∈ [0, 1] (displacement std ≈ 1.1), like a trained 2-D flow; at Glorot scale the
 * field is nearly linear and dopri5 crosses [0, 1] in 3 steps. `dispose()` frees the weights.
 */
export function mlpField(rng, { dim = 2, hidden = 64, gain = 2 } = {}) {
  const dense = (fanIn, fanOut) => ({
    w: tf.mul(rng.normalTensor([fanIn, fanOut]), gain / Math.sqrt(fanIn)),
    b: tf.mul(rng.normalTensor([fanOut]), 0.1),
  });
  const layers = [dense(dim + 1, hidden), dense(hidden, hidden), dense(hidden, dim)];
  const field = (t, y) => {
    let h = tf.concat([y, tf.fill([y.shape[0], 1], t)], 1);
    layers.forEach(({ w, b }, i) => {
      h = tf.add(matMul(h, w), b);
      if (i < layers.length - 1) h = tf.tanh(h);
    });
    return h;
  };
  return { field, layers, dispose: () => tf.dispose(layers.flatMap(({ w, b }) => [w, b])) };
}

/**
 * The same field as {@link mlpField} through @nfdm/core's `MLP` (tanh), so it runs on the fused
 * native kernels when @nfdm/native is built (one op forward, one op backward) and on tfjs
 * kernels otherwise.
 */
export function coreMlpField(plain) {
  const net = new MLP({ inDim: 3, outDim: 2, hidden: [64, 64], activation: 'tanh' });
  net.layers.forEach((layer, i) => {
    layer.weight.assign(plain.layers[i].w);
    layer.bias.assign(plain.layers[i].b);
  });
  const field = (t, y) => net.apply(tf.concat([y, tf.fill([y.shape[0], 1], t)], 1));
  return { field, dispose: () => net.dispose() };
}

function timeRuns(reps, run) {
  run(); // warm-up (kernel compilation, memory growth)
  const times = [];
  let last;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    last = run();
    times.push(performance.now() - t0);
  }
  return { times, last };
}

/**
 * Run both workloads. Options: `backend` ('wasm' | 'cpu', default 'wasm'), `reps` (≥ 3,
 * default 5), `points` (default 10 000), `seed` (default 0).
 */
export async function runSolverBench({ backend = 'wasm', reps = 5, points = 10_000, seed = 0 } = {}) {
  if (!(Number.isInteger(reps) && reps >= 3)) throw new RangeError('reps must be an integer >= 3');
  const report = await initBackend(backend);
  const rng = new Rng(seed);
  const mlp = mlpField(rng);
  const x = rng.normalTensor([points, 2]);
  const tol = 1e-5;
  const controller = new PIDController({ rtol: tol, atol: tol });
  const before = tf.memory().numTensors;

  const ode = timeRuns(reps, () => {
    const s = solve({ term: mlp.field, solver: 'dopri5', t0: 0, t1: 1, y0: x, controller });
    const stats = s.stats;
    s.y1.dispose();
    return stats;
  });
  const ld = timeRuns(reps, () => {
    const r = logDensityODE({ field: mlp.field, x, t0: 0, t1: 1, solver: 'dopri5', rtol: tol, atol: tol, divergence: 'exact' });
    const out = {
      stats: r.stats,
      meanLogp: tf.tidy(() => tf.mean(r.logp).dataSync()[0]),
      meanDeltaLogp: tf.tidy(() => tf.mean(r.deltaLogp).dataSync()[0]),
    };
    tf.dispose([r.logp, r.z, r.deltaLogp, r.priorLogp]);
    return out;
  });
  // The same log-density with the field on @nfdm/core's MLP (native fused kernels when built).
  const core = coreMlpField(mlp);
  const ldCore = timeRuns(reps, () => {
    const r = logDensityODE({ field: core.field, x, t0: 0, t1: 1, solver: 'dopri5', rtol: tol, atol: tol, divergence: 'exact' });
    const out = { stats: r.stats, meanLogp: tf.tidy(() => tf.mean(r.logp).dataSync()[0]) };
    tf.dispose([r.logp, r.z, r.deltaLogp, r.priorLogp]);
    return out;
  });
  core.dispose();
  // Cost of the field alone, to separate solver overhead from vector-field work.
  const fieldOnce = timeRuns(reps, () => tf.tidy(() => mlp.field(0.5, x).sum().dataSync()[0]));
  const vjpOnce = timeRuns(reps, () =>
    tf.tidy(
      () =>
        tf
          .grad((y) => tf.sum(mlp.field(0.5, y)))(x)
          .sum()
          .dataSync()[0],
    ),
  );
  const leaked = tf.memory().numTensors - before;
  mlp.dispose();
  x.dispose();

  const summary = (t, stats) => ({
    nfe: stats.nfe,
    acceptedSteps: stats.acceptedSteps,
    rejectedSteps: stats.rejectedSteps,
    medianMs: Number(median(t).toFixed(1)),
    runsMs: t.map((v) => Number(v.toFixed(1))),
    msPerNfe: Number((median(t) / stats.nfe).toFixed(3)),
  });
  return {
    bench: 'solvers',
    backend: report.backend,
    tfjs: tf.version.tfjs,
    node: process.version,
    points,
    field: 'MLP [y, t] -> 64 -> 64 -> 2, tanh, weights N(0, 4/fan_in)',
    fieldEvalMs: Number(median(fieldOnce.times).toFixed(2)),
    fieldEvalPlusVjpMs: Number(median(vjpOnce.times).toFixed(2)),
    reps,
    dopri5: { rtol: tol, atol: tol, t0: 0, t1: 1, ...summary(ode.times, ode.last) },
    logDensityCoreMlp: {
      native: nativeKernelsStatus().enabled,
      solver: 'dopri5',
      divergence: 'exact',
      rtol: tol,
      atol: tol,
      meanLogp: Number(ldCore.last.meanLogp.toFixed(4)),
      ...summary(ldCore.times, ldCore.last.stats),
    },
    logDensity: {
      solver: 'dopri5',
      divergence: 'exact',
      rtol: tol,
      atol: tol,
      ...summary(ld.times, ld.last.stats),
      meanLogp: Number(ld.last.meanLogp.toFixed(4)),
      meanDeltaLogp: Number(ld.last.meanDeltaLogp.toFixed(4)),
    },
    leakedTensors: leaked,
  };
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runSolverBench({
    backend: arg('backend', 'wasm'),
    reps: Number(arg('reps', '5')),
    points: Number(arg('points', '10000')),
  });
  console.log(JSON.stringify(result));
}
