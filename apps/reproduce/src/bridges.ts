/**
 * Experiment 3, bridges: NFBM from a source toy set to a target toy set, without and with a
 * disc obstacle; the endpoint distances to the target data and how much of the transport
 * paths lie inside the disc.
 *
 * The obstacle is chosen from the data, before training: its centre is the midpoint of the
 * source and target means, its radius the largest of 1.0, 0.8, …, 0.2 with at most 1% of the
 * source points and 1% of the target points inside (so the endpoints themselves do not force
 * paths into it). Whether the bridge without the penalty actually crosses the disc is
 * measured and reported; if it does not, the obstacle claim is inconclusive.
 */
import { join } from 'node:path';
import { type Bounds, panelsSvg } from '@nfdm/cli';
import {
  bridgeEvaluationData,
  bridgeSpec,
  drawBridge,
  type OpenedModel,
  PRESETS,
  type SamplerChoice,
  sampleMetrics,
  samplerChoice,
  squareBounds,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import { type DataMatrix, samplePaired, type ToyName } from '@nfdm/datasets';
import { estimate } from '@nfdm/models';
import { BRIDGE_MODEL, type BridgeBudget } from './budgets.js';
import { trajectoriesWithDiscSvg } from './charts.js';
import {
  attempt,
  type ExperimentResultBase,
  mdTable,
  meanSe,
  overSeeds,
  pm,
  resultBase,
  runSettings,
  type Stat,
  type SuiteContext,
  trainModel,
} from './common.js';

const VARIANTS = ['no-penalty', 'obstacle'] as const;
type Variant = (typeof VARIANTS)[number];
const METRICS = ['swd', 'mmd', 'energy'] as const;
type SampleMetric = (typeof METRICS)[number];

export interface Disc {
  center: [number, number];
  radius: number;
  weight: number;
}

export interface BridgeEntry {
  variant: Variant;
  seed: number;
  run: string;
  trainSeconds: number;
  metrics: Record<SampleMetric, { mean: number; stderr: number } | null>;
  /** Fraction of trajectory points inside the disc (mean, s.e. over trajectories). */
  inside: { mean: number; stderr: number } | null;
  /** Fraction of trajectories that enter the disc at least once. */
  crossing: number | null;
  errors: string[];
}

export interface BridgeResult extends ExperimentResultBase {
  experiment: 'bridges';
  source: string;
  target: string;
  seeds: number;
  obstacle: Disc & { rule: string; sourceInside: number; targetInside: number };
  sampler: string;
  /** Reference distances: source vs target (no transport) and target vs fresh target (sampling noise). */
  reference: Record<SampleMetric, { sourceToTarget: number; targetToTarget: number }>;
  entries: BridgeEntry[];
  summary: Array<{ variant: Variant; metrics: Record<SampleMetric, Stat | null>; inside: Stat | null; crossing: Stat | null }>;
}

const EVAL_SEED = 9_000_001;
const CHOICE_SEED = 9_500_001;
const RADII = [1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2];

function fractionWithin(m: DataMatrix, center: [number, number], r: number): number {
  let k = 0;
  for (let i = 0; i < m.n; i++) if ((m.data[2 * i] - center[0]) ** 2 + (m.data[2 * i + 1] - center[1]) ** 2 < r * r) k++;
  return k / m.n;
}

function mean2(m: DataMatrix): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = 0; i < m.n; i++) {
    x += m.data[2 * i];
    y += m.data[2 * i + 1];
  }
  return [x / m.n, y / m.n];
}

/** The obstacle rule of this experiment (see the module comment). */
export function chooseObstacle(source: ToyName, target: ToyName, weight: number) {
  const p = samplePaired(source, target, 4000, CHOICE_SEED);
  const a = mean2(p.x1);
  const b = mean2(p.x0);
  const center: [number, number] = [Number(((a[0] + b[0]) / 2).toFixed(3)), Number(((a[1] + b[1]) / 2).toFixed(3))];
  let radius = RADII[RADII.length - 1];
  for (const r of RADII) {
    if (fractionWithin(p.x1, center, r) <= 0.01 && fractionWithin(p.x0, center, r) <= 0.01) {
      radius = r;
      break;
    }
  }
  return {
    center,
    radius,
    weight,
    sourceInside: fractionWithin(p.x1, center, radius),
    targetInside: fractionWithin(p.x0, center, radius),
    rule: `centre = midpoint of the source and target means (4000 points each); radius = the largest of ${RADII.join(', ')} with ≤ 1% of source and ≤ 1% of target points inside; weight ${weight}`,
  };
}

/** Per-trajectory fraction of points inside the disc, [T, n, 2] paths. */
function insideStats(
  paths: Float32Array,
  T: number,
  n: number,
  disc: Disc,
): { inside: { mean: number; stderr: number }; crossing: number } {
  const per = new Float64Array(n);
  let crossing = 0;
  const r2 = disc.radius ** 2;
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let s = 0; s < T; s++) {
      const o = (s * n + i) * 2;
      if ((paths[o] - disc.center[0]) ** 2 + (paths[o + 1] - disc.center[1]) ** 2 < r2) k++;
    }
    per[i] = k / T;
    if (k > 0) crossing++;
  }
  const e = estimate(per);
  return { inside: { mean: e.mean, stderr: e.stderr }, crossing: crossing / n };
}

type EvalSet = ReturnType<typeof bridgeEvaluationData>;

/** What every bridge is evaluated on: the evaluation sets, the disc, the transport sampler, the plot bounds. */
interface BridgeEvaluation {
  spec: string;
  evalSets: EvalSet[];
  disc: Disc;
  sampler: SamplerChoice;
  bounds: Bounds;
}

/** What a bridge's transports of the evaluation sets measured, per repeat. */
interface Transported {
  values: Record<SampleMetric, number[]>;
  insides: Array<{ mean: number; stderr: number }>;
  crossings: number[];
}

/** The evaluation sets (one per repeat), the reference distances and the plot bounds. */
function bridgeEvaluation(b: BridgeBudget, spec: string) {
  const evalSets = Array.from({ length: b.repeats }, (_, r) => bridgeEvaluationData(spec, { n: b.points, seed: EVAL_SEED + r }));
  const fresh = bridgeEvaluationData(spec, { n: b.points, seed: EVAL_SEED + 777 }).targets;
  const ref = {
    st: sampleMetrics(evalSets[0].sources, evalSets[0].targets, [...METRICS], 0),
    tt: sampleMetrics(fresh, evalSets[0].targets, [...METRICS], 0),
  };
  const reference = Object.fromEntries(
    METRICS.map((k) => [k, { sourceToTarget: ref.st[k] ?? Number.NaN, targetToTarget: ref.tt[k] ?? Number.NaN }]),
  ) as BridgeResult['reference'];
  const all = new Float32Array([...evalSets[0].sources.data, ...evalSets[0].targets.data]);
  return { evalSets, reference, bounds: squareBounds(all, 0.08) };
}

/** The trajectory panel of one transport ([T, n, 2] paths; seed 0, first repeat). */
function trajectoryPanel(
  paths: Float32Array,
  T: number,
  n: number,
  set: EvalSet,
  variant: Variant,
  ev: BridgeEvaluation,
  b: BridgeBudget,
): string {
  const { disc, bounds } = ev;
  return trajectoriesWithDiscSvg(paths, T, n, {
    title: `${variant === 'obstacle' ? `with obstacle penalty (w = ${disc.weight})` : 'no penalty'}: ${b.source} → ${b.target}`,
    bounds,
    disc,
    background: [
      { points: set.sources.data, color: '#888888' },
      { points: set.targets.data, color: '#2ca02c' },
    ],
  });
}

/** Transport each evaluation set: endpoint metrics, the fraction inside the disc, the panel of seed 0. */
function transportAll(
  opened: OpenedModel,
  b: BridgeBudget,
  ev: BridgeEvaluation,
  run: { variant: Variant; seed: number; errors: string[] },
  panels: string[],
): Transported {
  const { variant, seed, errors } = run;
  const out: Transported = { values: { swd: [], mmd: [], energy: [] }, insides: [], crossings: [] };
  for (let r = 0; r < b.repeats; r++) {
    const set = ev.evalSets[r];
    const t = attempt('transport', errors, () => drawBridge(opened, b.points, ev.sampler, 1000 * seed + r, true, set.sources));
    if (!t) continue;
    const ends = { data: t.drawn.samples, n: t.drawn.n, dim: 2 };
    const m = attempt('metrics', errors, () => sampleMetrics(ends, set.targets, [...METRICS], r));
    if (m) for (const k of METRICS) out.values[k].push(m[k] ?? Number.NaN);
    const T = t.drawn.times?.length ?? 0;
    if (t.drawn.trajectory && T > 0) {
      const s = insideStats(t.drawn.trajectory, T, t.drawn.n, ev.disc);
      out.insides.push(s.inside);
      out.crossings.push(s.crossing);
      if (seed === 0 && r === 0) panels.push(trajectoryPanel(t.drawn.trajectory, T, t.drawn.n, set, variant, ev, b));
    }
  }
  return out;
}

/** Train one bridge (without or with the obstacle penalty) and measure its transports. */
async function bridgeRun(ctx: SuiteContext, ev: BridgeEvaluation, variant: Variant, seed: number, panels: string[]): Promise<BridgeEntry> {
  const b = ctx.budget.bridges;
  const { spec, disc } = ev;
  const rel = join('runs', 'bridges', variant, `seed-${seed}`);
  ctx.note(`[bridges] ${spec} ${variant} seed ${seed}: training ${b.train.steps} steps…`);
  const trained = await trainModel(
    ctx,
    rel,
    runSettings(b.train, {
      model: BRIDGE_MODEL,
      source: b.source,
      target: b.target,
      seed,
      ...(variant === 'obstacle' ? { obstacle: { center: disc.center, radius: disc.radius, weight: disc.weight } } : {}),
    }),
  );
  const { opened } = trained;
  const errors: string[] = [];
  ctx.note(`[bridges] ${variant} seed ${seed}: transporting ${b.points} points × ${b.repeats}…`);
  const { values, insides, crossings } = transportAll(opened, b, ev, { variant, seed, errors }, panels);
  opened.model.dispose();
  const metrics = Object.fromEntries(METRICS.map((k) => [k, values[k].length > 0 ? meanSe(values[k]) : null])) as BridgeEntry['metrics'];
  const inside =
    insides.length > 0
      ? {
          mean: insides.reduce((a, v) => a + v.mean, 0) / insides.length,
          stderr: Math.sqrt(insides.reduce((a, v) => a + v.stderr ** 2, 0)) / insides.length,
        }
      : null;
  const crossing = crossings.length > 0 ? crossings.reduce((a, v) => a + v, 0) / crossings.length : null;
  return { variant, seed, run: trained.run, trainSeconds: trained.seconds, metrics, inside, crossing, errors };
}

/** Mean ± s.e. over seeds of one variant. */
function bridgeSummary(variant: Variant, entries: BridgeEntry[]): BridgeResult['summary'][number] {
  const es = entries.filter((e) => e.variant === variant);
  const metrics = Object.fromEntries(
    METRICS.map((k) => [
      k,
      overSeeds(
        es.map((e) => e.metrics[k] ?? { mean: Number.NaN, stderr: Number.NaN }),
        'draws',
      ),
    ]),
  ) as Record<SampleMetric, Stat | null>;
  const inside = overSeeds(
    es.map((e) => e.inside ?? { mean: Number.NaN, stderr: Number.NaN }),
    'trajectories',
  );
  const c = meanSe(es.map((e) => e.crossing ?? Number.NaN));
  const crossing: Stat | null = Number.isFinite(c.mean)
    ? { mean: c.mean, se: es.length > 1 ? c.stderr : Number.NaN, n: es.length, over: 'seeds' }
    : null;
  return { variant, metrics, inside, crossing };
}

export async function runBridges(ctx: SuiteContext): Promise<BridgeResult> {
  const b = ctx.budget.bridges;
  const started = performance.now();
  const spec = bridgeSpec(b.source, b.target);
  const obstacle = chooseObstacle(b.source, b.target, b.obstacleWeight);
  const disc: Disc = { center: obstacle.center, radius: obstacle.radius, weight: obstacle.weight };
  ctx.note(`[bridges] obstacle: centre (${disc.center.join(', ')}), radius ${disc.radius}, weight ${disc.weight}`);
  const sampler = samplerChoice({ sde: true, steps: b.sampleSteps });
  const { evalSets, reference, bounds } = bridgeEvaluation(b, spec);
  const entries: BridgeEntry[] = [];
  const panels: string[] = [];
  for (const variant of VARIANTS) {
    for (let seed = 0; seed < b.seeds; seed++)
      entries.push(await bridgeRun(ctx, { spec, evalSets, disc, sampler, bounds }, variant, seed, panels));
  }
  const figures: string[] = [];
  if (panels.length > 0) {
    const fig = 'figures/bridges-trajectories.png';
    writePlot(join(ctx.out, fig), 'png', panelsSvg(panels, { gap: 10, title: 'NFBM transport paths (reverse SDE), obstacle disc in red' }));
    figures.push(fig);
  }
  const summary = VARIANTS.map((variant) => bridgeSummary(variant, entries));
  const config = 'configs/bridges.json';
  writeJson(join(ctx.out, config), {
    experiment: 'bridges',
    budget: ctx.budget.name,
    ...b,
    obstacle,
    sampler: sampler.label,
    evalSeed: EVAL_SEED,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(ctx, 'bridges', started, figures, config),
    source: b.source,
    target: b.target,
    seeds: b.seeds,
    obstacle,
    sampler: sampler.label,
    reference,
    entries,
    summary,
  };
}

export function bridgesSection(r: BridgeResult): string {
  const get = (v: string) => r.summary.find((s) => s.variant === v);
  const seeds = r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : 'one seed: mean ± s.e. over sample draws (inside: over trajectories)';
  const o = r.obstacle;
  const lines = [
    '## 3. Bridges (NFBM)',
    '',
    `NFBM transports ${r.source} (t = 1) to ${r.target} (t = 0); trained once without and once with the disc penalty ` +
      `weight · relu(r − ‖z − c‖)². Transport: ${r.sampler}. ${seeds}.`,
    '',
    `Obstacle: centre (${o.center.join(', ')}), radius ${o.radius}, weight ${o.weight}. How it was chosen: ${o.rule}. ` +
      `Source points inside: ${(100 * o.sourceInside).toFixed(2)}%, target points inside: ${(100 * o.targetInside).toFixed(2)}%.`,
    '',
    mdTable([
      // The rows are the variants of the bridge model: its family names the column.
      [
        PRESETS[BRIDGE_MODEL].family,
        'sliced W2 to target',
        'MMD² to target',
        'energy to target',
        'points inside disc',
        'paths entering disc',
      ],
      ...VARIANTS.map((v) => {
        const s = get(v);
        return [
          v,
          pm(s?.metrics.swd),
          pm(s?.metrics.mmd),
          pm(s?.metrics.energy),
          pm(s?.inside),
          s?.crossing ? `${(100 * s.crossing.mean).toFixed(1)}%` : '–',
        ];
      }),
      [
        'reference: source vs target (no transport)',
        pm({ mean: r.reference.swd.sourceToTarget, se: Number.NaN, n: 1, over: 'points' }),
        pm({ mean: r.reference.mmd.sourceToTarget, se: Number.NaN, n: 1, over: 'points' }),
        pm({ mean: r.reference.energy.sourceToTarget, se: Number.NaN, n: 1, over: 'points' }),
        '–',
        '–',
      ],
      [
        'reference: target vs fresh target (noise floor)',
        pm({ mean: r.reference.swd.targetToTarget, se: Number.NaN, n: 1, over: 'points' }),
        pm({ mean: r.reference.mmd.targetToTarget, se: Number.NaN, n: 1, over: 'points' }),
        pm({ mean: r.reference.energy.targetToTarget, se: Number.NaN, n: 1, over: 'points' }),
        '–',
        '–',
      ],
    ]),
    '',
  ];
  for (const f of r.figures) lines.push(`![bridge trajectories](${f})`, '');
  const errors = r.entries.filter((e) => e.errors.length > 0);
  if (errors.length > 0) {
    lines.push('Failed evaluations (recorded, not hidden):', '');
    for (const e of errors) lines.push(`- ${e.variant} seed ${e.seed}: ${e.errors.join('; ')}`);
    lines.push('');
  }
  return lines.join('\n');
}
