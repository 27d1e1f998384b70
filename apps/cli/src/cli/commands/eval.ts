/** `nfdm eval`: likelihoods and sample-quality metrics of a trained model on data. */
import { Command, Option } from '@commander-js/extra-typings';
import { type BridgeModel, configFamily as configFamilyOf } from '@nfdm/models';
import type { Context } from '../context.js';
import { evaluationData } from '../data.js';
import {
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
import { BACKENDS, examples, listOf, need, nonNegativeInt, obstacle, positiveInt, positiveIntList, positiveNumber } from '../options.js';
import { fmt, Output, table } from '../output.js';
import {
  BRIDGE_NO_DENSITY,
  checkDim,
  dataSpecFor,
  divergedMessage,
  drawBridge,
  drawSamples,
  isOTMeta,
  locatedConfig,
  locateModel,
  logProbChoice,
  openModel,
  readMeta,
  type SamplerChoice,
  samplerChoice,
  samplerForModel,
  startBackend,
  withDefaultMode,
} from '../runtime.js';

/** Why an NFDM-OT model has no NELBO. */
export const OT_NELBO_NOTE =
  'not applicable: an NFDM-OT model is a deterministic ODE model trained without the variational bound (its volatility is unused); use nll';

/** The default metrics of a model: everything that applies for D ≤ 16, else the cheap bound. */
function defaultMetrics(family: string, dim: number, ot: boolean, hasObstacle: boolean): MetricName[] {
  if (family === 'bridge') return [...SAMPLE_METRICS, ...(hasObstacle ? (['inside'] as const) : [])];
  if (dim > 16) return ot ? ['nll'] : ['nelbo'];
  const base: MetricName[] = ['nll', 'nelbo', ...SAMPLE_METRICS];
  return ot ? [...base, 'curvature'] : base;
}

export function evalCommand(ctx: Context) {
  return new Command('eval')
    .description(
      'evaluate a trained model: exact NLL, NELBO (nats per sample, data units; not available for nfdm-ot; DiffFlow: its NLL bound), sample metrics against data, the curvature of ODE paths; bridges (nfbm): endpoint distances to the target data and the fraction of path points inside the obstacle',
    )
    .option('--model <dir>', 'a training output directory or a model directory (required)')
    .option('--data <spec>', 'data to evaluate on (default: the training data; toys draw fresh test points)')
    .option(
      '--metrics <list>',
      `comma-separated, from ${METRIC_NAMES.join(',')} (default: all that apply for D ≤ 16, else nelbo)`,
      listOf(METRIC_NAMES),
    )
    .option('--n <N>', 'test points, and model samples for the sample metrics', positiveInt, 1000)
    .option('--seed <S>', 'seed of the toy test points, the samples and the Monte Carlo draws', nonNegativeInt, 0)
    .option('--draws <K>', 'NELBO: Monte Carlo draws of (t, ε) per point', positiveInt, 10)
    .option('--nll-solver <name>', 'NLL: ODE solver (default dopri5, adaptive)')
    .option('--nll-steps <K>', 'NLL: fixed steps instead of adaptive stepping', positiveInt)
    .option('--rtol <tol>', 'adaptive ODE solves: relative tolerance (default 1e-5)', positiveNumber)
    .option('--atol <tol>', 'adaptive ODE solves: absolute tolerance (default 1e-5)', positiveNumber)
    .option('--solver <name>', 'sampler for the sample metrics (default euler_maruyama)')
    .option('--steps <K>', 'sampler steps (default 100)', positiveInt)
    .option('--ode', 'sample with the probability-flow ODE (default for nfdm-ot models)')
    .option('--sde', 'sample with the reverse SDE (default, except for nfdm-ot models)')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
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
    .option('--json', 'print the metrics as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm eval --model runs/nfdm-8g',
        'nfdm eval --model runs/nfdm-8g --metrics nll,nelbo --n 5000 --json',
        'nfdm eval --model runs/ot-8g --metrics swd,mmd,curvature --nfe 1,2,4,8,16,100',
        'nfdm eval --model runs/nfbm-obstacle --metrics swd,inside --steps 100',
        'nfdm eval --model runs/fm-points --data test-points.csv --metrics nll,swd --nll-solver rk4 --nll-steps 50',
      ]),
    )
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const location = locateModel(need(opts.model, '--model <dir>'));
      const config = locatedConfig(location);
      const meta = readMeta(location);
      const ot = isOTMeta(meta);
      const family = configFamilyOf(config);
      const hasObstacle =
        family === 'bridge' && (opts.obstacle !== undefined || ((config as { penalties?: unknown[] }).penalties?.length ?? 0) > 0);
      const metrics: MetricName[] = opts.metrics ?? defaultMetrics(family, config.dim, ot, hasObstacle);
      const sampler = withDefaultMode({ solver: opts.solver, steps: opts.steps, ode: opts.ode, sde: opts.sde }, meta);
      // --rtol/--atol also govern adaptive ODE sampling, but never make SDE sampling an error.
      const askedSampling = samplerChoice(
        samplerChoice(sampler).mode === 'ode' ? { ...sampler, rtol: opts.rtol, atol: opts.atol } : sampler,
        1e-5,
      );
      const nllSolver = logProbChoice({ solver: opts.nllSolver, steps: opts.nllSteps, rtol: opts.rtol, atol: opts.atol }, 1e-5);
      const spec = dataSpecFor(opts.data, meta, 'nfdm eval');
      const { data, info } = evaluationData(spec, { n: opts.n, seed: opts.seed + 2_000_003, trainedOn: meta?.data });
      checkDim(data, config, spec);
      await startBackend(opts.backend, out);
      const opened = openModel(location);
      const sampling = samplerForModel(opened, askedSampling, opts.steps !== undefined);
      const started = performance.now();
      /** Samples for the metrics: diverged ones are left out (and counted in `diverged`), with progress. */
      const diverged: Record<string, { count: number; of: number }> = {};
      const draw = (n: number, choice: SamplerChoice, label: string) => {
        const progress = out.progress(label, n, 'samples');
        const drawn = drawSamples(opened, n, choice, opts.seed, false, { diverged: 'drop', progress });
        progress.finish();
        if (drawn.diverged.length > 0) {
          out.warn(divergedMessage(drawn.diverged.length, drawn.asked, choice.label, 'drop'));
          diverged[label] = { count: drawn.diverged.length, of: drawn.asked };
        }
        return drawn;
      };
      const result: Record<string, unknown> = {};
      const notAvailable: Record<string, string> = {};
      if (family === 'bridge') {
        for (const m of ['nll', 'nelbo'] as const) if (metrics.includes(m)) notAvailable[m] = BRIDGE_NO_DENSITY;
      }
      if (metrics.includes('curvature') && family !== 'diffusion')
        notAvailable.curvature = `applies to diffusion models' probability-flow ODE, not to a ${family} model`;
      if (metrics.includes('inside') && !hasObstacle)
        notAvailable.inside = 'applies to bridge models trained with an --obstacle, or give the disc with --obstacle cx,cy,r';
      if (family === 'bridge') {
        // nothing else: the bridge metrics are computed below from one transport of n sources.
      } else if (metrics.includes('nelbo') && ot) {
        result.nelbo = null;
        notAvailable.nelbo = OT_NELBO_NOTE;
      } else if (metrics.includes('nelbo')) {
        out.note(`NELBO of ${data.n} points (${opts.draws} draws each)…`);
        const progress = out.progress('NELBO', data.n, 'points');
        result.nelbo = nelboMetric(opened, data, { draws: opts.draws, seed: opts.seed, bitsOffset: info.bitsOffset });
        progress.update(data.n);
        progress.finish();
      }
      if (metrics.includes('nll') && family !== 'bridge') {
        out.note(`exact NLL of ${data.n} points (${nllSolver.label})…`);
        const progress = out.progress('exact NLL', data.n, 'points');
        result.nll = nllMetric(opened, data, { ...nllSolver, bitsOffset: info.bitsOffset, progress });
        progress.finish();
      }
      const sampleNames = metrics.filter((m) => (SAMPLE_METRICS as readonly string[]).includes(m));
      const wantInside = metrics.includes('inside') && hasObstacle;
      if (family === 'bridge' && (sampleNames.length > 0 || wantInside)) {
        out.note(
          `transporting ${data.n} source points (${sampling.label}) for ${[...sampleNames, ...(wantInside ? ['inside'] : [])].join(', ')}…`,
        );
        const r = drawBridge(opened, opened.model as BridgeModel, data.n, sampling, opts.seed, wantInside);
        Object.assign(result, sampleMetrics({ data: r.drawn.samples, n: r.drawn.n, dim: r.drawn.dim }, data, sampleNames, opts.seed));
        if (wantInside && r.drawn.trajectory) result.inside = insideFraction(opened, r.drawn.trajectory, r.drawn.dim, opts.obstacle);
      } else if (sampleNames.length > 0) {
        out.note(`drawing ${data.n} samples (${sampling.label}) for ${sampleNames.join(', ')}…`);
        const drawn = draw(data.n, sampling, 'sampling');
        Object.assign(result, sampleMetrics({ data: drawn.samples, n: drawn.n, dim: drawn.dim }, data, sampleNames, opts.seed));
      }
      if (metrics.includes('curvature') && family === 'diffusion') {
        out.note(`curvature along ${Math.min(data.n, 1000)} ODE paths (${opts.curvatureSteps} Euler steps)…`);
        result.curvature = curvatureOfModel(opened, { n: Math.min(data.n, 1000), steps: opts.curvatureSteps, seed: opts.seed });
      }
      // NFE sweep: the probability-flow ODE with Euler and a fixed number of steps = NFE.
      const sweepNames = (sampleNames.length > 0 ? sampleNames : (['swd', 'mmd', 'energy'] as MetricName[])).filter(
        (m) => m !== 'w2' || data.n <= 2000,
      );
      const nfeSweep: Array<Record<string, number>> = [];
      for (const nfe of opts.nfe ?? []) {
        out.note(`NFE ${nfe}: ${data.n} samples with ${nfe} Euler ODE steps…`);
        const drawn = draw(data.n, samplerChoice({ ode: true, solver: 'euler', steps: nfe }), `sampling (NFE ${nfe})`);
        nfeSweep.push({ nfe, ...sampleMetrics({ data: drawn.samples, n: drawn.n, dim: drawn.dim }, data, sweepNames, opts.seed) });
      }
      opened.model.dispose();
      const seconds = (performance.now() - started) / 1000;
      const rows = [['metric', 'value', '']];
      for (const m of metrics) {
        const v = result[m];
        if (typeof v === 'number') rows.push([m, fmt(v), METRIC_LABELS[m]]);
        else if (v && typeof v === 'object') {
          const l = v as { mean: number; stderr: number; bitsPerDim: number };
          rows.push([m, `${fmt(l.mean)} ± ${fmt(l.stderr, 2)}`, `${METRIC_LABELS[m]}, ${fmt(l.bitsPerDim)} bits/dim`]);
        } else if (notAvailable[m]) rows.push([m, 'n/a', notAvailable[m]]);
      }
      const floor =
        info.entropy !== undefined
          ? `\nentropy floor of ${info.spec}: ${info.entropy.toFixed(3)} nats (no model's expected NLL can be lower)`
          : '';
      const sweep =
        nfeSweep.length > 0
          ? `\n\nfew-step sampling (Euler ODE):\n${table([['NFE', ...sweepNames], ...nfeSweep.map((r) => [String(r.nfe), ...sweepNames.map((m) => fmt(r[m]))])])}`
          : '';
      out.human(`${opened.path} on ${info.source} (${data.n} points, ${fmt(seconds, 3)} s)\n${table(rows)}${floor}${sweep}`);
      out.result({
        model: opened.path,
        data: { spec: info.spec, n: data.n, source: info.source },
        units: 'nats per sample (data units)',
        entropyFloor: info.entropy ?? null,
        sampler: sampleNames.length > 0 ? sampling.label : null,
        nllSolver: metrics.includes('nll') ? nllSolver.label : null,
        metrics: result,
        ...(nfeSweep.length > 0 ? { nfeSweep } : {}),
        ...(Object.keys(notAvailable).length > 0 ? { notAvailable } : {}),
        ...(Object.keys(diverged).length > 0 ? { diverged } : {}),
        seconds,
      });
    });
}
