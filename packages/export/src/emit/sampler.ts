/**
 * The whole fixed-step sampler as ONE ONNX graph: an ONNX `Loop` whose body inlines the drift
 * (ODE: probability-flow velocity f; SDE: reverse drift fB and g), so any ONNX runtime draws
 * samples in one call. The fields come from a {@link LoopFields}: a diffusion model's
 * (emit/model.ts) or another family's (flow matching, emit/cfm.ts: f = v_θ, ODE graphs only).
 *
 * Inputs
 *   prior_noise [N, D] float32   standard normal ε; z(1) = priorStd · ε
 *   steps       [1]    int64     number of steps (ODE graphs)
 *   noise       [S, N, D] float32 standard normals ξ_k for the S steps (SDE graphs; S = steps),
 *                                the Brownian increment of step k is ΔW_k = √|h| ξ_k
 *   condition   [N, w] float32   conditional models: y per row (labels k, K = ∅; vectors, a NaN
 *                                row = ∅; emit/condition.ts)
 *   guidance    [1] float32      conditional models: the guidance weight w; the fields use
 *                                x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅) (emit/model.ts)
 * Output
 *   samples     [N, D] float32   z(t₀), mapped back to data space (x = mean + std ⊙ z) when the
 *                                model carries a standardisation
 *
 * Time grid: t_k = 1 + k h, h = (t₀ − 1)/S, k = 0 … S (float32). Schemes (core's tableaux):
 *   euler  z ← z + h f(z, t)
 *   heun   z ← z + h/2 (k₁ + k₂),  k₁ = f(z, t), k₂ = f(z + h k₁, t + h)
 *   rk4    the classic tableau (c = 0, ½, ½, 1; b = ⅙, ⅓, ⅓, ⅙)
 *   ddim   the frozen-prediction step (ODE only; fields with a {@link LoopFields.frozenStep}: diffusion
 *          models): z ← μ(x̂, t + h) + σ(x̂, t + h) ⊙ (z − μ(x̂, t))/σ(x̂, t), x̂ = x̂_w(z, t, y)
 *          (docs/maths/sampling.md#frozen-prediction-steps)
 *   euler (SDE, Euler–Maruyama)   z ← z + h fB(z, t) + g(t) ΔW
 *   heun  (SDE, stochastic Heun)  z̃ = z + h fB₀ + g₀ΔW;  z ← z + h/2 (fB₀ + fB(z̃, t + h)) + ½(g₀ + g(t + h)) ΔW
 */
import { conditionWidth } from '@nfdm/core';
import { type DiffusionModel, FROZEN_PREDICTION_SOLVER } from '@nfdm/models';
import { attr, type Graph } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { emitGuidedConditions, type FieldCondition } from './condition.js';
import { emitField, emitFrozenStep } from './model.js';

/** The Runge–Kutta schemes of the Loop samplers (any field: ODE and, euler / heun, SDE). */
export type LoopSolver = 'euler' | 'heun' | 'rk4';
/** Every scheme of a Loop sampler: the Runge–Kutta ones and the frozen-prediction step 'ddim' (ODE only). */
export type SamplerSolver = LoopSolver | typeof FROZEN_PREDICTION_SOLVER;
export type SamplerMode = 'ode' | 'sde';

const ODE_TABLEAUX: Record<LoopSolver, { c: number[]; a: number[][]; b: number[] }> = {
  euler: { c: [0], a: [[]], b: [1] },
  heun: { c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2] },
  rk4: { c: [0, 1 / 2, 1 / 2, 1], a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]], b: [1 / 6, 1 / 3, 1 / 3, 1 / 6] },
};

/** Options of {@link emitSampler}. */
export interface SamplerGraphOptions {
  solver: SamplerSolver;
  mode: SamplerMode;
  standardization?: { mean: number[]; std: number[] };
}

/**
 * The fields a Loop sampler integrates, emitted into the step body by any model family: the
 * ODE velocity f(z, t) and, for SDE graphs, the reverse drift fB(z, t) with g(t)².
 */
export interface LoopFields {
  /** Data dimension D. */
  dim: number;
  /** z(1) = priorStd · prior_noise. */
  priorStd: number;
  /** The end time t₀ of the grid (the samplers integrate from 1 down to t₀). */
  tEnd: number;
  /** Declare the fields' extra root inputs (after prior_noise and steps / noise); none by default. */
  declare?(root: Graph): void;
  /** f at (z [N, D], t [N, 1]) in graph `g` → [N, D]. */
  velocity(g: Graph, z: string, t: string): string;
  /** fB at (z, t) and g² at `gTime` ([1, 1]); families without an SDE leave it out. */
  drift?(g: Graph, z: string, t: string, gTime: string): { drift: string; g2: string };
  /**
   * The frozen-prediction step z_t → z_s (z [N, D], t and s [N, 1] → [N, D]) of the 'ddim'
   * scheme; only families with a data prediction and a Gaussian process have it.
   */
  frozenStep?(g: Graph, z: string, t: string, s: string): string;
}

/** The Loop fields of a diffusion model (emit/model.ts's emitField; conditional inputs declared by `declare`). */
function diffusionFields(model: DiffusionModel): LoopFields {
  let cond: FieldCondition | null = null;
  return {
    dim: model.dim,
    priorStd: model.forward.priorStd,
    tEnd: model.forward.start.t,
    declare(root) {
      const spec = model.condition?.spec ?? null;
      // [y; ∅] and w are computed once, outside the Loop (its body reads outer-scope values).
      cond = spec
        ? emitGuidedConditions(root, spec, root.input('condition', ['N', conditionWidth(spec)]), root.input('guidance', [1]))
        : null;
    },
    velocity: (g, z, t) => emitField(g, model, z, t, { velocity: true }, t, cond).velocity as string,
    drift(g, z, t, gTime) {
      const f = emitField(g, model, z, t, { drift: true }, gTime, cond);
      return { drift: f.drift as string, g2: f.g2 as string };
    },
    frozenStep: (g, z, t, s) => emitFrozenStep(g, model, z, t, s, cond),
  };
}

/** Emit a diffusion model's sampler into the root graph `root` (declares its inputs and the `samples` output). */
export function emitSampler(root: Graph, model: DiffusionModel, options: SamplerGraphOptions): void {
  emitLoopSampler(root, diffusionFields(model), options);
}

/** Throw a RangeError for a scheme / mode pair the fields cannot run (e.g. rk4 or ddim in SDE mode). */
function checkScheme(fields: LoopFields, { solver, mode }: SamplerGraphOptions): void {
  if (solver === FROZEN_PREDICTION_SOLVER) {
    if (mode !== 'ode')
      throw new RangeError(`the '${solver}' sampler graph (frozen-prediction steps) solves the probability-flow ODE only`);
    if (!fields.frozenStep) throw new RangeError(`these fields have no frozen-prediction step: no '${solver}' sampler graph`);
    return;
  }
  if (mode === 'sde' && solver === 'rk4')
    throw new RangeError("the SDE sampler graph supports 'euler' (Euler–Maruyama) and 'heun' (stochastic Heun)");
  if (!(solver in ODE_TABLEAUX))
    throw new RangeError(`unknown sampler solver '${solver}': expected euler, heun, rk4 or ${FROZEN_PREDICTION_SOLVER}`);
  if (mode === 'sde' && !fields.drift) throw new RangeError('these fields have no reverse drift: only ODE sampler graphs can be emitted');
}

/**
 * One ODE step from t_k to t_k + h in the Loop body `body`: the Runge–Kutta tableau of `solver`
 * on the velocity, or the frozen-prediction step ('ddim'); `stageTime(c)` is the [N, 1] time
 * column t_k + c h. Returns z_{k+1} [N, D].
 */
function emitOdeStep(
  body: Graph,
  fields: LoopFields,
  solver: SamplerSolver,
  z: string,
  h: string,
  stageTime: (c: number) => string,
): string {
  if (solver === FROZEN_PREDICTION_SOLVER)
    return (fields.frozenStep as NonNullable<LoopFields['frozenStep']>)(body, z, stageTime(0), stageTime(1));
  const tab = ODE_TABLEAUX[solver];
  const ks: string[] = [];
  for (let i = 0; i < tab.c.length; i++) {
    let yi = z;
    const terms = tab.a[i].flatMap((aij, j) => (aij === 0 ? [] : [body.mul(ks[j], body.mul(h, aij))]));
    if (terms.length > 0) yi = body.sum([z, ...terms]);
    ks.push(fields.velocity(body, yi, stageTime(tab.c[i])));
  }
  return body.sum([z, ...tab.b.map((bj, j) => body.mul(ks[j], body.mul(h, bj)))]);
}

/** Emit the Loop sampler of `fields` into the root graph `root` (declares its inputs and the `samples` output). */
export function emitLoopSampler(root: Graph, fields: LoopFields, options: SamplerGraphOptions): void {
  const { solver, mode } = options;
  const D = fields.dim;
  checkScheme(fields, options);
  const drift = fields.drift;
  const priorNoise = root.input('prior_noise', ['N', D]);
  let steps: string;
  let noise: string | null = null;
  if (mode === 'ode') {
    steps = root.reshape(root.input('steps', [1], DataType.INT64), []);
  } else {
    noise = root.input('noise', ['S', 'N', D]);
    steps = root.op('Gather', [root.op('Shape', [noise]), root.int64Tensor([0], [])], { axis: attr.int(0) });
  }
  fields.declare?.(root);
  const prior = fields.priorStd;
  const z1 = prior === 1 ? priorNoise : root.mul(priorNoise, prior);
  const tEnd = fields.tEnd;
  const h = root.div(tEnd - 1, root.cast(steps, DataType.FLOAT));
  const columnShape = root.concat([root.slice(root.op('Shape', [priorNoise]), 0, 1, 0), root.int64Tensor([1])], 0);
  const sqrtH = mode === 'sde' ? root.unary('Sqrt', root.unary('Abs', h)) : null;

  const body = root.subgraph('sampler_step');
  const iter = body.input('step_index', [], DataType.INT64);
  const condIn = body.input('cond_in', [], DataType.BOOL);
  const z = body.input('z_in', null);
  const fi = body.cast(iter, DataType.FLOAT);
  const t = body.add(1, body.mul(fi, h));
  const column = (time: string) => body.op('Expand', [time, columnShape]);
  const tCol = column(t);
  let next: string;
  if (mode === 'ode') {
    // stage time t_k + c h (c = 0: the step's own time column)
    const stageTime = (c: number) => (c === 0 ? tCol : column(body.add(1, body.mul(body.add(fi, c), h))));
    next = emitOdeStep(body, fields, solver, z, h, stageTime);
  } else {
    const xi = body.op('Gather', [noise as string, iter], { axis: attr.int(0) });
    const dW = body.mul(xi, sqrtH as string);
    // g depends on t only: evaluate it once per step on a [1, 1] time, not once per row.
    const sde = drift as NonNullable<LoopFields['drift']>;
    const f0 = sde(body, z, tCol, body.reshape(t, [1, 1]));
    const g0 = body.unary('Sqrt', f0.g2);
    if (solver === 'euler') {
      next = body.sum([z, body.mul(f0.drift, h), body.mul(g0, dW)]);
    } else {
      const zt = body.sum([z, body.mul(f0.drift, h), body.mul(g0, dW)]);
      const tNext = body.add(1, body.mul(body.add(fi, 1), h));
      const f1 = sde(body, zt, column(tNext), body.reshape(tNext, [1, 1]));
      const g1 = body.unary('Sqrt', f1.g2);
      next = body.sum([z, body.mul(body.add(f0.drift, f1.drift), body.mul(h, 0.5)), body.mul(body.mul(body.add(g0, g1), 0.5), dW)]);
    }
  }
  body.output('cond_out', condIn, [], DataType.BOOL);
  body.output('z_out', next, null);
  const [zFinal] = root.node('Loop', [steps, '', z1], { body: attr.graph(body) }, [root.unique('z_final')]);
  let samples = zFinal;
  const s = options.standardization;
  if (s) {
    samples = root.add(
      root.mul(zFinal, root.floatTensor('standardization.std', s.std, [1, D])),
      root.floatTensor('standardization.mean', s.mean, [1, D]),
    );
  }
  root.output('samples', samples, ['N', D]);
}
