/**
 * The `reproduce` command: run the experiment suite of the papers (density, few-step sampling,
 * bridges, images) in-process under a budget and write DIR/REPORT.md with tables, PNG figures,
 * configs and a verdict per claim. `nfdm reproduce` (apps/cli) loads this package and hands its
 * arguments to this command.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { BACKENDS, type Context, EXIT_FAILURE, examples, listOf, need, Output } from '@nfdm/cli/lib';
import { BUDGET_NAMES, BUDGETS, EXPERIMENT_NAMES } from './budgets.js';
import { runSuite } from './suite.js';

const MODELS_HELP =
  'comma-separated models: train only these in each selected experiment (a reflow student brings its teacher); ' +
  'to share a long run between processes or machines, train some models in another --out, copy its runs/ here and --resume without --models';

const EXAMPLES = [
  'nfdm reproduce --budget smoke --out /tmp/repro-smoke     # seconds: checks the pipeline',
  'nfdm reproduce --budget quick --out repro                 # ≤ 15 minutes on two cores',
  'nfdm reproduce --budget full --out repro-full --verbose   # the serious run',
  'nfdm reproduce --budget long --out repro-long --verbose   # density near convergence (hours)',
  'nfdm reproduce --budget quick --out repro --only bridges --resume',
  'nfdm reproduce --budget long --out part --only images --models nfdm-ot,ot-cfm   # a share of a long run',
];

/** The one-line description (`nfdm --help` lists the same line without loading this package). */
export const REPRODUCE_DESCRIPTION =
  'run the experiment suite (density, few-step sampling, bridges, images, image bridge) under a budget and write REPORT.md with tables, figures, configs and a verdict per paper claim';

export function reproduceCommand(ctx: Context) {
  return new Command('reproduce')
    .description(REPRODUCE_DESCRIPTION)
    .addOption(
      new Option(
        '--budget <name>',
        'smoke (seconds, pipeline check), quick (≈ 7.5 min on 2 cores), full (≈ 45–90 min) or long (the largest: density with 20,000 updates, images with 28×28 U-Nets; ≈ 8 h)',
      )
        .choices(BUDGET_NAMES)
        .default('quick' as const),
    )
    .option('--out <dir>', 'output directory (required; must be empty unless --force or --resume)')
    .option('--only <list>', `comma-separated experiments, from ${EXPERIMENT_NAMES.join(',')} (default: all)`, listOf(EXPERIMENT_NAMES))
    .option('--models <list>', MODELS_HELP, (v: string) =>
      v
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m.length > 0),
    )
    .option('--force', 'overwrite the selected experiments in a non-empty --out')
    .option('--resume', 'continue a reproduce run in --out: skip experiments whose result JSON exists')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--json', 'print the results and claims as JSON on stdout')
    .option('--verbose', 'progress notes on stderr even when it is not a terminal')
    .addHelpText('after', examples(EXAMPLES))
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const dir = need(opts.out, '--out <dir>');
      const budget = BUDGETS[opts.budget];
      const command = [
        'nfdm reproduce',
        `--budget ${budget.name}`,
        `--out ${dir}`,
        ...(opts.only ? [`--only ${opts.only.join(',')}`] : []),
        ...(opts.models ? [`--models ${opts.models.join(',')}`] : []),
        ...(opts.force ? ['--force'] : []),
        ...(opts.resume ? ['--resume'] : []),
      ].join(' ');
      const outcome = await runSuite(
        { out: dir, budget, only: opts.only, models: opts.models, force: opts.force, resume: opts.resume, backend: opts.backend, command },
        out,
      );
      const failed = Object.entries(outcome.failed);
      out.human(
        [
          `reproduce (budget ${budget.name}) in ${outcome.seconds.toFixed(1)} s: ran ${outcome.ran.join(', ') || 'nothing'}` +
            (outcome.reused.length > 0 ? `; reused ${outcome.reused.join(', ')}` : '') +
            (failed.length > 0 ? `; FAILED ${failed.map(([k, v]) => `${k} (${v})`).join(', ')}` : ''),
          ...Object.entries(outcome.results).map(([k, r]) => `  ${k}: ${r?.seconds.toFixed(1)} s`),
          ...outcome.claims.map((c) => `  claim (${c.id}): ${c.verdict}`),
          `  report: ${outcome.report}`,
        ].join('\n'),
      );
      out.result({
        format: 'nfdm-reproduce/1',
        budget: budget.name,
        out: outcome.out,
        report: outcome.report,
        seconds: outcome.seconds,
        machine: outcome.machine,
        ran: outcome.ran,
        reused: outcome.reused,
        failed: outcome.failed,
        claims: outcome.claims,
        experiments: outcome.results,
      });
      if (failed.length > 0) ctx.exitCode = EXIT_FAILURE;
    });
}
