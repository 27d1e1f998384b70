/**
 * DiffFlow (a {@link DiffFlowModel}) as ONNX ops, mirroring `@nfdm/models`' diffflow/networks.ts
 * and diffflow/sample.ts op for op.
 *
 * FourierMLP(x, t):  e = [sin(w t + φ), cos(w t + φ)],  h_t = W_to GELU(W_ti e + b_ti) + b_to,
 *                    h = GELU(W_in x + b_in + h_t) → L × [Dense → GELU] → Dense (GELU = tanh form).
 *
 * Sampler on the fixed grid t_0 < … < t_K (baked in as constants), from x_K = prior_noise:
 *   stochastic     x_i = x_{i+1} − [f − g_{i+1}² s](x_{i+1}, t_{i+1}) Δ_i + g_{i+1} √Δ_i noise_k,
 *                  k = K − 1 − i, no noise on the last step (i = 0; noise is [K − 1, N, D]);
 *   deterministic  x_i = x_{i+1} − [f − ½ g_{i+1}² s](x_{i+1}, t_{i+1}) Δ_i.
 * The per-step scalars (t_{i+1}, Δ_i, c·g_{i+1}², g_{i+1}√Δ_i) are computed in float64 and stored
 * as float32, exactly like the JS numbers tfjs turns into scalars.
 */
import { DiffFlowModel, DiffFlowUNet, FourierMLP } from '@nfdm/models';
import { attr, type Graph } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { emitActivation } from './activations.js';
import { emitTimeNetwork } from './nets.js';

/** Grid, step sizes and diffusion values as validated by @nfdm/models' diffflowSchedule. */
export interface DiffFlowGrid {
  t: number[];
  dt: number[];
  g: number[];
}

/**
 * Throw one clear TypeError for DiffFlow models the exporter cannot write: networks other than
 * FourierMLP and DiffFlowUNet (a TimeUNet, written by emit/unet.ts).
 */
export function assertDiffFlowExportable(model: DiffFlowModel): void {
  if (!(model instanceof DiffFlowModel)) throw new TypeError('exportDiffFlowOnnx needs a DiffFlowModel from @nfdm/models');
  for (const [name, net] of [
    ['drift', model.driftNet],
    ['score', model.scoreNet],
  ] as const) {
    if (!(net instanceof FourierMLP || net instanceof DiffFlowUNet))
      throw new TypeError(`only FourierMLP and U-Net networks can be exported to ONNX (the ${name} net is neither)`);
  }
}

const data = (v: { dataSync(): ArrayLike<number> }) => Float32Array.from(v.dataSync());

/** The FourierMLP (x [N, d], t [N, 1]) → [N, d]; `prefix` names its initializers. */
export function emitFourierMLP(g: Graph, net: FourierMLP, x: string, t: string, prefix: string): string {
  const C = net.channels;
  const gelu = (h: string) => emitActivation(g, 'gelu-tanh', h, 0).value;
  const dense = (layer: FourierMLP['timeIn'], input: string, name: string) =>
    g.add(
      g.matmul(input, g.floatTensor(`${prefix}.${name}.weight`, data(layer.weight), [layer.inDim, layer.outDim])),
      g.floatTensor(`${prefix}.${name}.bias`, data(layer.bias), [layer.outDim]),
    );
  const w = g.floatTensor(`${prefix}.frequencies`, data(net.frequencies), [1, C]);
  const phi = g.floatTensor(`${prefix}.phase`, data(net.phase), [1, C]);
  const arg = g.add(g.mul(t, w), phi);
  const emb = g.concat([g.unary('Sin', arg), g.unary('Cos', arg)], 1);
  const ht = dense(net.timeOut, gelu(dense(net.timeIn, emb, 'timeIn')), 'timeOut');
  let h = gelu(g.add(dense(net.inputLayer, x, 'input'), ht));
  net.hidden.forEach((layer, i) => {
    h = gelu(dense(layer, h, `hidden.${i}`));
  });
  return dense(net.output, h, 'output');
}

/** A drift or score network (x [N, d], t [N, 1] or [1, 1]) → [N, d]: FourierMLP or U-Net (value only). */
function emitDiffFlowNet(g: Graph, net: DiffFlowModel['driftNet'], x: string, t: string, prefix: string): string {
  if (net instanceof DiffFlowUNet) return emitTimeNetwork(g, net.net, { x, t, timeTangent: false }, prefix).v;
  return emitFourierMLP(g, net as FourierMLP, x, t, prefix);
}

/** f(x, t), s(x, t). */
export function emitDiffFlowDrift(g: Graph, model: DiffFlowModel, x: string, t: string): string {
  return emitDiffFlowNet(g, model.driftNet, x, t, 'drift');
}

export function emitDiffFlowScore(g: Graph, model: DiffFlowModel, x: string, t: string): string {
  return emitDiffFlowNet(g, model.scoreNet, x, t, 'score');
}

/** Options of {@link emitDiffFlowSampler}. */
export interface DiffFlowSamplerGraphOptions {
  mode: 'ode' | 'sde';
  grid: DiffFlowGrid;
  standardization?: { mean: number[]; std: number[] };
}

/**
 * The whole DiffFlow sampler as one graph (see module doc). Inputs prior_noise [N, D] and, for
 * 'sde', noise [K − 1, N, D]; output samples [N, D] (in data space with a standardisation).
 */
export function emitDiffFlowSampler(root: Graph, model: DiffFlowModel, options: DiffFlowSamplerGraphOptions): void {
  const D = model.dim;
  const { mode, grid } = options;
  const K = grid.dt.length;
  const c = mode === 'ode' ? 0.5 : 1;
  const x0 = root.input('prior_noise', ['N', D]);
  const noise = mode === 'sde' ? root.input('noise', ['S', 'N', D]) : null;
  // Backward step k = 0 … K − 1 is grid step i = K − 1 − k.
  const idx = Array.from({ length: K }, (_, k) => K - 1 - k);
  const tNext = root.floatTensor(
    'grid.t_next',
    idx.map((i) => grid.t[i + 1]),
    [K],
  );
  const dt = root.floatTensor(
    'grid.dt',
    idx.map((i) => grid.dt[i]),
    [K],
  );
  const cg2 = root.floatTensor(
    'grid.cg2',
    idx.map((i) => c * grid.g[i + 1] * grid.g[i + 1]),
    [K],
  );
  const gSqrtDt = noise
    ? root.floatTensor(
        'grid.g_sqrt_dt',
        idx.map((i) => grid.g[i + 1] * Math.sqrt(grid.dt[i])),
        [K],
      )
    : null;
  const columnShape = root.concat([root.slice(root.op('Shape', [x0]), 0, 1, 0), root.int64Tensor([1])], 0);

  /** x − [f − c g² s](x, t) Δ at backward step `k` (an int64 scalar) of graph `g`. */
  const meanStep = (g: Graph, x: string, k: string) => {
    const at = (arr: string) => g.op('Gather', [arr, k], { axis: attr.int(0) });
    const tCol = g.op('Expand', [at(tNext), columnShape]);
    const drift = g.sub(emitDiffFlowDrift(g, model, x, tCol), g.mul(emitDiffFlowScore(g, model, x, tCol), at(cg2)));
    return { next: g.sub(x, g.mul(drift, at(dt))), at };
  };

  // SDE: K − 1 noisy steps in the Loop, then the last step's mean; ODE: all K steps in the Loop.
  const loopSteps = mode === 'sde' ? K - 1 : K;
  let x = x0;
  if (loopSteps > 0) {
    const body = root.subgraph('diffflow_sampler_step');
    const iter = body.input('step_index', [], DataType.INT64);
    const condIn = body.input('cond_in', [], DataType.BOOL);
    const xIn = body.input('x_in', null);
    const { next, at } = meanStep(body, xIn, iter);
    let out = next;
    if (noise && gSqrtDt) out = body.add(next, body.mul(body.op('Gather', [noise, iter], { axis: attr.int(0) }), at(gSqrtDt)));
    body.output('cond_out', condIn, [], DataType.BOOL);
    body.output('x_out', out, null);
    [x] = root.node('Loop', [root.int64Tensor([loopSteps], []), '', x0], { body: attr.graph(body) }, [root.unique('x_loop')]);
  }
  if (mode === 'sde') x = meanStep(root, x, root.int64Tensor([K - 1], [])).next;
  const s = options.standardization;
  const samples = s
    ? root.add(
        root.mul(x, root.floatTensor('standardization.std', s.std, [1, D])),
        root.floatTensor('standardization.mean', s.mean, [1, D]),
      )
    : x;
  root.output('samples', samples, ['N', D]);
}
