/** `nfdm eval`: likelihoods and sample-quality metrics of a trained model on data. */
import { Command, Option } from '@commander-js/extra-typings';
import { type DataMatrix, FASHION_MNIST_CLASSES, toyConditionalEntropy } from '@nfdm/datasets';
import { capabilitiesOf, type FamilyCapabilities, type FamilyDescriptor, familyOfConfig } from '@nfdm/models';
import type { Context } from '../context.js';
import { type DataInfo, evaluationData, labelledEvaluationData, pairRows } from '../data.js';
import { UsageError } from '../errors.js';
import {
  boundMetric,
  classifierMetric,
  curvatureOfModel,
  insideFraction,
  METRIC_LABELS,
  METRIC_NAMES,
  type MetricName,
  nelboMetric,
  nllMetric,
  SAMPLE_METRICS,
  sampleMetrics,
} from '../metrics.js';
import {
  BACKENDS,
  examples,
  listOf,
  need,
  nonNegativeInt,
  nonNegativeNumber,
  obstacle,
  positiveInt,
  positiveIntList,
  positiveNumber,
} from '../options.js';
import { fmt, Output, table } from '../output.js';
import {
  BRIDGE_NO_DENSITY,
  checkDim,
  dataSpecFor,
  divergedMessage,
  drawBridge,
  drawSamples,
  type LogProbChoice,
  locatedConfig,
  locateModel,
  logProbChoice,
  modelCondition,
  notCapable,
  type OpenedModel,
  objectiveOf,
  openModel,
  readMeta,
  type SamplerChoice,
  samplerChoice,
  samplerForModel,
  startBackend,
  withDefaultMode,
} from '../runtime.js';
import {
  isClassifierMetric,
  measureSampleQuality,
  perClassAccuracyText,
  planSampleQuality,
  type SampleQualityPlan,
  type SampleQualityResult,
  sampleQualityRow,
} from '../sample-quality.js';

/** What a conditional bridge's metrics are. */
const BRIDGE_CONDITIONAL_NOTE =
  'the bound is of −log p(target | source, y) at the targets’ labels; each source is transported with its paired target’s label (guidance 0)';

/** Why the sample metrics do not apply to a conditional model here. */
export const CONDITIONAL_SAMPLES_NOTE =
  'not evaluated for conditional models: draw samples by class with nfdm sample --label K (or --labels) and compare them with that class';

/** Why an NFDM-OT model has no NELBO. */
export const OT_NELBO_NOTE =
  'not applicable: an NFDM-OT model is a deterministic ODE model trained without the variational bound (its volatility is unused); use nll';

/**
 * Whether the `nelbo` metric applies: the family reports the NELBO or another bound on −log p(x)
 * (DiffFlow's chain bound) under the model's objective, through its `nllBound` operation.
 */
function nelboApplies(family: FamilyDescriptor, caps: FamilyCapabilities): boolean {
  return (caps.nelbo || caps.bound) && family.operations?.nllBound !== undefined;
}

/**
 * The default metrics of a model: everything that applies for D ≤ 16, else the cheap bound.
 * Bridges: their bound and the endpoint metrics (images: without the exact W2), and the
 * obstacle fraction when there is an obstacle.
 */
function defaultMetrics(
  family: FamilyDescriptor,
  caps: FamilyCapabilities,
  dim: number,
  hasObstacle: boolean,
  conditional: boolean,
): MetricName[] {
  if (conditional && !caps.transport) return dim > 16 ? ['nelbo'] : ['nll', 'nelbo', 'classifier'];
  if (caps.transport) {
    const endpoints = dim > 16 ? SAMPLE_METRICS.filter((m) => m !== 'w2') : SAMPLE_METRICS;
    return [...(caps.bound ? (['bound'] as const) : []), ...endpoints, ...(hasObstacle ? (['inside'] as const) : [])];
  }
  if (dim > 16) return nelboApplies(family, caps) ? ['nelbo'] : ['nll'];
  const base: MetricName[] = ['nll', 'nelbo', ...SAMPLE_METRICS];
  return caps.fewStep ? [...base, 'curvature'] : base;
}

export function evalCommand(ctx: Context) {
  return new Command('eval')
    .description(
      'evaluate a trained model: exact NLL, NELBO (nats per sample, data units; not available for nfdm-ot; DiffFlow: its NLL bound), sample metrics against data, the curvature of ODE paths; label-conditional models: the conditional NLL and NELBO of held-out points given their labels and the accuracy of the implied classifier argmax_y log p(x | y); bridges (nfbm): the bound on −log p(target | source) of held-out pairs, endpoint distances to the target data and the fraction of path points inside the obstacle (image bridges: held-out images, bits/dim)',
    )
    .option('--model <dir>', 'a training output directory or a model directory (required)')
    .option('--data <spec>', 'data to evaluate on (default: the training data; toys draw fresh test points)')
    .option(
      '--metrics <list>',
      `comma-separated, from ${METRIC_NAMES.join(',')} (default: all that apply for D ≤ 16, else nelbo; bridges: bound and the endpoint metrics)`,
      listOf(METRIC_NAMES),
    )
    .option('--n <N>', 'test points, and model samples for the sample metrics', positiveInt, 1000)
    .option('--seed <S>', 'seed of the toy test points, the samples and the Monte Carlo draws', nonNegativeInt, 0)
    .option('--draws <K>', 'NELBO and bound: Monte Carlo draws of (t, ε) per point', positiveInt, 10)
    .option('--nll-solver <name>', 'NLL: ODE solver (default dopri5, adaptive)')
    .option('--nll-steps <K>', 'NLL: fixed steps instead of adaptive stepping', positiveInt)
    .option('--rtol <tol>', 'adaptive ODE solves: relative tolerance (default 1e-5)', positiveNumber)
    .option('--atol <tol>', 'adaptive ODE solves: absolute tolerance (default 1e-5)', positiveNumber)
    .option('--solver <name>', 'sampler for the sample metrics (default euler_maruyama)')
    .option('--steps <K>', 'sampler steps (default 100)', positiveInt)
    .option('--ode', 'sample with the probability-flow ODE (default for nfdm-ot models)')
    .option('--sde', 'sample with the reverse SDE (default, except for nfdm-ot models)')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--threads <n>', 'threads of the native kernels (default NFDM_NATIVE_THREADS or 1)', positiveInt)
    .option(
      '--obstacle <cx,cy,r>',
      "bridges: the disc for 'inside' (default: the model's own obstacle) — e.g. to measure a bridge trained without one",
      obstacle,
    )
    .option('--curvature-steps <K>', 'curvature: Euler steps along each generated ODE path (default 100)', positiveInt, 100)
    .option(
      '--nfe <list>',
      'few-step sampling: for each NFE in the list (e.g. 1,2,4,8,16,100) draw samples with that many Euler ODE steps and report the sample metrics (swd, mmd, energy and w2 among --metrics)',
      positiveIntList,
    )
    .option(
      '--classifier <dir>',
      'sample-accuracy, frechet: the image classifier that judges the samples (written by nfdm classifier train)',
    )
    .option('--n-per-class <N>', 'sample-accuracy, frechet of label-conditional models: samples of each class (default 100)', positiveInt)
    .option('--guidance <w>', 'sample-accuracy, frechet: classifier-free guidance weight of the samples (default 0)', nonNegativeNumber)
    .option('--json', 'print the metrics as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm eval --model runs/nfdm-8g',
        'nfdm eval --model runs/nfdm-8g --metrics nll,nelbo --n 5000 --json',
        'nfdm eval --model runs/ot-8g --metrics swd,mmd,curvature --nfe 1,2,4,8,16,100',
        'nfdm eval --model runs/nfbm-obstacle --metrics swd,inside --steps 100',
        'nfdm eval --model runs/sandals-to-sneakers --metrics bound,swd --n 200 --steps 50   # image bridge: bits/dim, held-out images',
        'nfdm eval --model runs/fm-points --data test-points.csv --metrics nll,swd --nll-solver rk4 --nll-steps 50',
        'nfdm eval --model runs/cond-8g --metrics nll,nelbo,classifier --n 500   # conditional: −log p(x | y), held-out labels',
        'nfdm eval --model runs/fm14-cond --metrics sample-accuracy,frechet --classifier runs/clf-14 --guidance 2 --n-per-class 100 --steps 50',
      ]),
    )
    .action(async (opts) => {
      await runEval(ctx, opts);
    });
}

type EvalOptions = ReturnType<ReturnType<typeof evalCommand>['opts']>;

/** `nfdm eval` after its flags are parsed: plan, load, measure, report. */
async function runEval(ctx: Context, opts: EvalOptions): Promise<void> {
  const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
  const plan = planEval(opts);
  await startBackend(opts.backend, out, opts.threads);
  const opened = openModel(plan.location);
  const run: EvalRun = {
    ...plan,
    opened,
    out,
    opts,
    sampling: samplerForModel(opened, plan.askedSampling, opts.steps !== undefined),
    result: {},
    diverged: {},
  };
  const started = performance.now();
  likelihoodMetrics(run);
  const sampleNames = sampleQualityMetrics(run);
  if (plan.quality) {
    const { diverged, ...measured } = measureSampleQuality(plan.quality, opened, run.sampling, opts.seed, out);
    Object.assign(run.result, measured);
    if (diverged) run.diverged['sampling (sample-accuracy, frechet)'] = diverged;
  }
  if (plan.metrics.includes('curvature') && plan.caps.curvature && plan.notAvailable.curvature === undefined) {
    const n = Math.min(plan.data.n, 1000);
    out.note(`curvature along ${n} ODE paths (${opts.curvatureSteps} Euler steps)…`);
    run.result.curvature = curvatureOfModel(opened, { n, steps: opts.curvatureSteps, seed: opts.seed });
  }
  const sweep = nfeSweep(run, sampleNames);
  opened.model.dispose();
  const seconds = (performance.now() - started) / 1000;
  out.human(describeEval(run, sweep, seconds));
  out.result({
    model: opened.path,
    data: { spec: plan.info.spec, n: plan.data.n, source: plan.info.source },
    units: 'nats per sample (data units)',
    ...(plan.labels
      ? { conditional: plan.caps.transport ? BRIDGE_CONDITIONAL_NOTE : 'nll and nelbo are of −log p(x | y) given the points’ labels' }
      : {}),
    // −log p(x) is bounded by H(x), the conditional −log p(x | y) by H(x | y) (labelled toys where known); bridges: neither.
    entropyFloor: plan.caps.transport ? null : (entropyFloorOf(plan.info, Boolean(plan.labels)) ?? null),
    ...(plan.labels && !plan.caps.transport ? { entropyFloorOf: 'H(x | y)' } : {}),
    sampler: sampleNames.length > 0 ? run.sampling.label : null,
    nllSolver: plan.metrics.includes('nll') ? plan.nllSolver.label : null,
    metrics: run.result,
    ...(sweep.rows.length > 0 ? { nfeSweep: sweep.rows } : {}),
    ...(Object.keys(plan.notAvailable).length > 0 ? { notAvailable: plan.notAvailable } : {}),
    ...(Object.keys(run.diverged).length > 0 ? { diverged: run.diverged } : {}),
    seconds,
  });
}

/** What `nfdm eval` will compute, settled before the backend starts (bad flags and data fail fast). */
interface EvalPlan {
  location: ReturnType<typeof locateModel>;
  caps: FamilyCapabilities;
  metrics: MetricName[];
  hasObstacle: boolean;
  askedSampling: SamplerChoice;
  nllSolver: LogProbChoice;
  data: DataMatrix;
  /** Bridges: the sources paired with `data` (the targets), to transport and for the bound. */
  sources?: DataMatrix;
  info: DataInfo & { heldOut?: boolean };
  /** Metrics asked for that do not apply to this model, with the reason. */
  notAvailable: Record<string, string>;
  /** Label-conditional models: the labels of the rows of `data`, and the number of classes. */
  labels?: Float32Array;
  classes?: number;
  /** sample-accuracy and frechet: the classifier, the samples' labels and the reference images. */
  quality?: SampleQualityPlan;
}

interface EvalRun extends EvalPlan {
  opened: OpenedModel;
  out: Output;
  opts: EvalOptions;
  sampling: SamplerChoice;
  result: Record<string, unknown>;
  /** Samples that diverged per sampling label (left out of the metrics). */
  diverged: Record<string, { count: number; of: number }>;
}

function planEval(opts: EvalOptions): EvalPlan {
  const location = locateModel(need(opts.model, '--model <dir>'));
  const config = locatedConfig(location);
  const condition = modelCondition(config);
  if (condition && condition.kind !== 'label')
    throw new UsageError(
      'nfdm eval evaluates label-conditional models only; nfdm train reports the held-out conditional NELBO of a vector-conditioned model (run.json)',
    );
  const classes = condition?.kind === 'label' ? condition.classes : undefined;
  if (classes !== undefined && opts.nfe) throw new UsageError(`--nfe: ${CONDITIONAL_SAMPLES_NOTE}`);
  const meta = readMeta(location);
  const family = familyOfConfig(config);
  const caps = capabilitiesOf(family, objectiveOf(meta));
  const penalties = (config as { penalties?: unknown[] }).penalties?.length ?? 0;
  const hasObstacle = caps.transport && (opts.obstacle !== undefined || penalties > 0);
  const metrics: MetricName[] = opts.metrics ?? defaultMetrics(family, caps, config.dim, hasObstacle, classes !== undefined);
  const sampler = withDefaultMode({ solver: opts.solver, steps: opts.steps, ode: opts.ode, sde: opts.sde }, caps);
  // --rtol/--atol also govern adaptive ODE sampling, but never make SDE sampling an error.
  const askedSampling = samplerChoice(
    samplerChoice(sampler).mode === 'ode' ? { ...sampler, rtol: opts.rtol, atol: opts.atol } : sampler,
    1e-5,
  );
  const nllSolver = logProbChoice({ solver: opts.nllSolver, steps: opts.nllSteps, rtol: opts.rtol, atol: opts.atol }, 1e-5);
  const spec = dataSpecFor(opts.data, meta, 'nfdm eval');
  const evalOptions = { n: opts.n, seed: opts.seed + 2_000_003, trainedOn: meta?.data };
  const { data, sources, info, labels } =
    classes !== undefined
      ? labelledEvaluationData(spec, classes, evalOptions)
      : { ...evaluationData(spec, evalOptions), labels: undefined };
  checkDim(data, config, spec);
  const notAvailable = unavailableMetrics(metrics, family, caps, hasObstacle);
  if (metrics.includes('classifier') && (classes === undefined || caps.transport))
    notAvailable.classifier = 'applies to label-conditional models (trained with --condition label), not to bridges';
  // A conditional bridge transports each source with its paired target's label: the endpoints are then compared with the targets.
  if (classes !== undefined && !caps.transport)
    for (const m of metrics)
      if ((SAMPLE_METRICS as readonly string[]).includes(m) || m === 'curvature') notAvailable[m] = CONDITIONAL_SAMPLES_NOTE;
  if (metrics.includes('bound') && !notAvailable.bound && !sources)
    notAvailable.bound = `needs pairs: give the bridge's data as --data <source>-><target> (got --data ${spec})`;
  const qualityFlags = { classifier: opts.classifier, guidance: opts.guidance, nPerClass: opts.nPerClass, n: opts.n };
  const quality = planSampleQuality(metrics, qualityFlags, config, meta, opts.model as string);
  return { location, caps, metrics, hasObstacle, askedSampling, nllSolver, data, sources, info, notAvailable, labels, classes, quality };
}

/** The metrics asked for that this model cannot give, with the reason each one does not apply. */
function unavailableMetrics(
  metrics: MetricName[],
  family: FamilyDescriptor,
  caps: FamilyCapabilities,
  hasObstacle: boolean,
): Record<string, string> {
  const na: Record<string, string> = {};
  const who = { descriptor: family, capabilities: caps };
  if (metrics.includes('nll') && !caps.logProb) na.nll = notCapable(who, 'logProb');
  if (metrics.includes('nelbo') && !nelboApplies(family, caps)) {
    if (caps.transport) na.nelbo = BRIDGE_NO_DENSITY;
    else if (caps.fewStep) na.nelbo = OT_NELBO_NOTE;
    else na.nelbo = `not applicable: a ${family.title} reports no NELBO or other bound on −log p(x); use nll`;
  }
  if (metrics.includes('bound') && !(caps.transport && caps.bound))
    na.bound = `applies to bridges (nfbm): their bound on −log p(target | source); a ${family.title} reports ${nelboApplies(family, caps) ? 'nelbo' : 'no bound'}`;
  if (metrics.includes('curvature') && !caps.curvature)
    na.curvature = `applies to diffusion models' probability-flow ODE, not to a ${family.id} model`;
  if (metrics.includes('inside') && !hasObstacle)
    na.inside = 'applies to bridge models trained with an --obstacle, or give the disc with --obstacle cx,cy,r';
  return na;
}

/** The NELBO (or the family's bound) and the exact NLL, where they apply. */
function likelihoodMetrics(run: EvalRun): void {
  const { opened, out, opts, data, info, metrics, result } = run;
  if (metrics.includes('nelbo') && run.notAvailable.nelbo === undefined) {
    out.note(`NELBO of ${data.n} points (${opts.draws} draws each)…`);
    const progress = out.progress('NELBO', data.n, 'points');
    result.nelbo = nelboMetric(opened, data, { draws: opts.draws, seed: opts.seed, bitsOffset: info.bitsOffset, labels: run.labels });
    progress.update(data.n);
    progress.finish();
  } else if (metrics.includes('nelbo') && !run.caps.transport) result.nelbo = null;
  if (metrics.includes('bound') && run.notAvailable.bound === undefined && run.sources) {
    const pairs = pairRows(data, run.sources);
    out.note(`bound of ${pairs.n} held-out pairs (${opts.draws} draws)…`);
    result.bound = boundMetric(opened, pairs, {
      draws: opts.draws,
      seed: opts.seed,
      dim: data.dim,
      bitsOffset: info.bitsOffset,
      labels: run.labels,
    });
  }
  if (metrics.includes('nll') && run.caps.logProb) {
    out.note(`exact NLL of ${data.n} points (${run.nllSolver.label})…`);
    const progress = out.progress('exact NLL', data.n, 'points');
    result.nll = nllMetric(opened, data, { ...run.nllSolver, bitsOffset: info.bitsOffset, progress, labels: run.labels });
    progress.finish();
  }
  if (metrics.includes('classifier') && run.notAvailable.classifier === undefined && run.labels && run.classes !== undefined) {
    out.note(`implied classifier on ${data.n} labelled points (${run.classes} ODE solves, ${run.nllSolver.label})…`);
    result.classifier = classifierMetric(opened, data, run.labels, { ...run.nllSolver, seed: opts.seed });
  }
}

/** Model samples for the metrics: diverged ones are left out (and counted in `run.diverged`), with progress. */
function drawForMetrics(run: EvalRun, n: number, choice: SamplerChoice, label: string) {
  const progress = run.out.progress(label, n, 'samples');
  const drawn = drawSamples(run.opened, n, choice, run.opts.seed, false, { diverged: 'drop', progress });
  progress.finish();
  if (drawn.diverged.length > 0) {
    run.out.warn(divergedMessage(drawn.diverged.length, drawn.asked, choice.label, 'drop'));
    run.diverged[label] = { count: drawn.diverged.length, of: drawn.asked };
  }
  return drawn;
}

/**
 * The sample metrics against the data: of n generated samples, or for a transporting family of
 * n transported sources (plus the fraction of path points inside the obstacle). Returns the
 * sample metrics asked for.
 */
function sampleQualityMetrics(run: EvalRun): MetricName[] {
  const { opened, out, opts, data, metrics, sampling, result } = run;
  const sampleNames = metrics.filter((m) => (SAMPLE_METRICS as readonly string[]).includes(m) && run.notAvailable[m] === undefined);
  const wantInside = metrics.includes('inside') && run.hasObstacle;
  if (run.caps.transport && (sampleNames.length > 0 || wantInside)) {
    const what = [...sampleNames, ...(wantInside ? ['inside'] : [])].join(', ');
    out.note(`transporting ${data.n} source points (${sampling.label}) for ${what}…`);
    const labels = run.labels ? Array.from(run.labels) : undefined;
    const r = drawBridge(opened, data.n, sampling, opts.seed, wantInside, run.sources, { labels });
    Object.assign(result, sampleMetrics({ data: r.drawn.samples, n: r.drawn.n, dim: r.drawn.dim }, data, sampleNames, opts.seed));
    if (wantInside && r.drawn.trajectory) result.inside = insideFraction(opened, r.drawn.trajectory, r.drawn.dim, opts.obstacle);
  } else if (sampleNames.length > 0) {
    out.note(`drawing ${data.n} samples (${sampling.label}) for ${sampleNames.join(', ')}…`);
    const drawn = drawForMetrics(run, data.n, sampling, 'sampling');
    Object.assign(result, sampleMetrics({ data: drawn.samples, n: drawn.n, dim: drawn.dim }, data, sampleNames, opts.seed));
  }
  return sampleNames;
}

/** `--nfe`: the probability-flow ODE with Euler and a fixed number of steps = NFE, sample metrics per NFE. */
function nfeSweep(run: EvalRun, sampleNames: MetricName[]): { names: MetricName[]; rows: Array<Record<string, number>> } {
  const { data, opts, out } = run;
  const names = (sampleNames.length > 0 ? sampleNames : (['swd', 'mmd', 'energy'] as MetricName[])).filter(
    (m) => m !== 'w2' || data.n <= 2000,
  );
  const rows: Array<Record<string, number>> = [];
  for (const nfe of opts.nfe ?? []) {
    out.note(`NFE ${nfe}: ${data.n} samples with ${nfe} Euler ODE steps…`);
    const drawn = drawForMetrics(run, data.n, samplerChoice({ ode: true, solver: 'euler', steps: nfe }), `sampling (NFE ${nfe})`);
    rows.push({ nfe, ...sampleMetrics({ data: drawn.samples, n: drawn.n, dim: drawn.dim }, data, names, opts.seed) });
  }
  return { names, rows };
}

/** H(x) of a toy set, or for a label-conditional model H(x | y) (toyConditionalEntropy; undefined where unknown). */
function entropyFloorOf(info: DataInfo, conditional: boolean): number | undefined {
  if (!conditional) return info.entropy;
  return info.kind === 'toy' ? toyConditionalEntropy(info.spec) : undefined;
}

/** The human report: a table of metrics, the entropy floor, and the few-step table. */
function describeEval(run: EvalRun, sweep: { names: MetricName[]; rows: Array<Record<string, number>> }, seconds: number): string {
  const { metrics, result, info, data, opened } = run;
  const rows = [['metric', 'value', '']];
  for (const m of metrics) {
    const v = result[m];
    if (typeof v === 'number') rows.push([m, fmt(v), METRIC_LABELS[m]]);
    else if (m === 'classifier' && v && typeof v === 'object') {
      const c = v as { accuracy: number; chance: number; n: number };
      rows.push([m, fmt(c.accuracy), `${METRIC_LABELS[m]}, ${c.n} points; chance ${fmt(c.chance)}`]);
    } else if (isClassifierMetric(m)) {
      const row = sampleQualityRow(m, result as SampleQualityResult);
      if (row) rows.push(row);
    } else if (v && typeof v === 'object') {
      const l = v as { mean: number; stderr: number; bitsPerDim: number };
      rows.push([m, `${fmt(l.mean)} ± ${fmt(l.stderr, 2)}`, `${METRIC_LABELS[m]}, ${fmt(l.bitsPerDim)} bits/dim`]);
    } else if (run.notAvailable[m]) rows.push([m, 'n/a', run.notAvailable[m]]);
  }
  const h = entropyFloorOf(info, Boolean(run.labels));
  const floor =
    h === undefined
      ? ''
      : run.labels
        ? `\nconditional entropy floor H(x | y) of ${info.spec}: ${h.toFixed(3)} nats (no model's expected −log p(x | y) can be lower)`
        : `\nentropy floor of ${info.spec}: ${h.toFixed(3)} nats (no model's expected NLL can be lower)`;
  const few =
    sweep.rows.length > 0
      ? `\n\nfew-step sampling (Euler ODE):\n${table([['NFE', ...sweep.names], ...sweep.rows.map((r) => [String(r.nfe), ...sweep.names.map((m) => fmt(r[m]))])])}`
      : '';
  const byClass = perClassAccuracyText(
    result as SampleQualityResult,
    opened.meta?.data?.spec.startsWith('fashion-mnist') ? FASHION_MNIST_CLASSES : undefined,
  );
  return `${opened.path} on ${info.source} (${data.n} points, ${fmt(seconds, 3)} s)\n${table(rows)}${byClass}${floor}${few}`;
}
