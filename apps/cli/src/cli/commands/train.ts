/** `nfdm train`: train a model into an output directory (checkpoints, metrics, model, run.json). */
import { Command, Option } from '@commander-js/extra-typings';
import type { Context } from '../context.js';
import { OUTLIER_POLICIES, STANDARDIZE_METHODS } from '../data-options.js';
import { EXIT_INTERRUPTED } from '../errors.js';
import {
  BACKENDS,
  clipNorm,
  dropoutRate,
  emaDecay,
  examples,
  NONE,
  need,
  nonNegativeInt,
  nonNegativeNumber,
  obstacle,
  positiveInt,
  positiveNumber,
  widths,
} from '../options.js';
import { Output } from '../output.js';
import { MODEL_DESCRIPTIONS, MODEL_NAMES } from '../presets.js';
import { DEFAULT_CONDITION_DROPOUT, DEFAULTS, OT_CFM_BATCH, type RunSettings, readSettingsFile, SETTING_KEYS } from '../run-config.js';
import { describeRun, runTraining } from '../training.js';

const TRAIN_EXAMPLES = examples([
  'nfdm train --model nfdm --data 8gaussians --steps 20000 --out runs/nfdm-8g',
  'nfdm train --model vp --data moons --steps 5000 --batch 512 --hidden 64,64,64 --out runs/vp-moons',
  'nfdm train --model fm --data points.csv --steps 3000 --out runs/fm-points   # standardised, stored with the model',
  'nfdm train --model nfdm-ot --data 8gaussians --steps 20000 --curvature-weight 0.5 --out runs/ot-8g',
  'nfdm train --model nfbm --source 8gaussians --target moons --obstacle 0,0,0.6 --steps 5000 --out runs/bridge',
  'nfdm train --model nfbm --arch unet --base 16 --source fashion-mnist-14:label=5 --target fashion-mnist-14:label=7 --steps 2000 --batch 32 --lr 2e-4 --out runs/sandals-to-sneakers',
  'nfdm train --model fixed-bridge --source 8gaussians --target moons --obstacle 0,0,0.6 --steps 5000 --out runs/fixed-bridge   # baseline: fixed process',
  'nfdm train --model diffflow --data rings --steps 3000 --lr 3e-3 --clip 1 --out runs/diffflow-rings',
  'nfdm train --model ot-cfm --data 8gaussians --steps 5000 --out runs/otcfm-8g                # flow matching, OT coupling',
  'nfdm train --model rectified-flow --data 8gaussians --steps 5000 --out runs/rf1',
  'nfdm train --model rectified-flow --reflow-from runs/rf1 --data 8gaussians --steps 5000 --out runs/rf2   # one reflow round',
  'nfdm train --model nfdm --data fashion-mnist --arch unet --base 16 --steps 2000 --batch 32 --lr 2e-4 --out runs/nfdm-fmnist',
  'nfdm train --model vp --data fashion-mnist --arch unet --dropout 0.1 --steps 2000 --batch 32 --lr 2e-4 --out runs/vp-fmnist',
  'nfdm train --model nfdm --data 8gaussians --condition label --steps 2000 --out runs/nfdm-8g-labels',
  'nfdm train --model nfbm --source moons@-4,0 --target 8gaussians --condition label --steps 3000 --out runs/bridge-to-mode',
  'nfdm train --model nfdm --data houses.csv --condition-column rooms --condition-column age --condition-forward --steps 3000 --out runs/houses',
  'nfdm train --out runs/nfdm-8g --resume --steps 40000                       # train further',
  'nfdm train --config runs/nfdm-8g/run.json --seed 1 --out runs/nfdm-8g-seed1',
]);

/** Run settings that are also flags of `nfdm train` (same name); `ema` and `clip` take 'none' for null. */
const SETTING_FLAGS = SETTING_KEYS.filter((key) => key !== 'modelConfig' && key !== 'trainer');

/** The settings given on the command line (flags left at their defaults are not settings: --config and a resumed run fill them). */
function givenSettings(
  opts: Partial<Record<(typeof SETTING_FLAGS)[number], unknown>>,
  given: (name: string) => boolean,
): Partial<RunSettings> {
  const cli: Record<string, unknown> = {};
  for (const key of SETTING_FLAGS) {
    if (given(key)) cli[key] = (key === 'ema' || key === 'clip') && opts[key] === NONE ? null : opts[key];
  }
  return cli as Partial<RunSettings>;
}

/** `--condition-column a --condition-column b`: the names in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Help texts of the longer `train` flags (kept here so the command reads as a list of flags). */
const HELP = {
  data: "a toy set (see nfdm datasets), fashion-mnist, fashion-mnist-14 (one class: fashion-mnist-14:label=7), a folder of PNG images (DIR[@HxW]), or a .csv / .npy file; nfbm: '<source>-><target>' instead of --source and --target",
  source: 'nfbm: the source data (t = 1): a toy set, optionally shifted (moons@-3,0), or an image set (fashion-mnist-14:label=5, DIR@HxW)',
  obstacle: 'nfbm: penalise paths through the disc of centre (cx, cy), radius r, weight w (default 10)',
  schedule: 'learning-rate schedule after the warm-up (default cosine, to lr/100)',
  ema: `EMA decay of the exported weights, warmed up as min(decay, (1+n)/(10+n)) at update n, or 'none' (default ${DEFAULTS.ema})`,
  curvatureWeight: 'nfdm-ot only: weight λ of the curvature penalty in the NFDM-OT objective (default 1)',
  standardize:
    '.csv/.npy data: the standardisation stored with the model — column mean/std, or robust: median and 0.7413·IQR (default mean-std)',
  outliers: '.csv/.npy data: rows with values over 1000 robust standard deviations from the median are refused (default), dropped, or kept',
  arch: 'networks: mlp (default) or unet (image data: U-Nets for the predictor and the learned forward process; nfbm: for its process and predictor; diffflow: for the drift and the score)',
  condition:
    'diffusion models and bridges: train a conditional model on the data labels (toy sets with a natural label, e.g. 8gaussians: the mode; fashion-mnist: the class; nfbm: the labels of --target; a .csv: its one --condition-column of integers 0…K−1), for nfdm sample --label K --guidance W',
  conditionDropout: `conditional models: fraction of training rows whose condition is replaced by the null condition, so the model is also unconditional (default ${DEFAULT_CONDITION_DROPOUT})`,
  conditionColumn:
    '.csv data: a column that is the condition instead of data (repeat for more); the columns form a vector condition (standardised like the data, for nfdm sample --condition v1,v2), or with --condition label ONE column of class labels 0…K−1',
  conditionForward:
    'conditional models with a learned forward process (nfdm, ndm, nfdm-ot, nfbm): the forward process depends on the condition too (forward.conditioned / process.conditioned)',
  reflowFrom:
    'rectified-flow: one reflow round — train on pairs [x̂ | z] with z ~ N(0, I) and x̂ the ODE map of the flow-matching model at DIR (a run or model directory), starting from its weights',
  dropout: "U-Net: dropout rate in [0, 1) in the predictor's residual blocks, on in training updates only (default 0; needs --arch unet)",
};

export function trainCommand(ctx: Context) {
  const cmd = new Command('train')
    .description(
      'train a model (diffusion, nfdm-ot, nfbm bridge, diffflow, flow matching); writes checkpoints, metrics.jsonl, model/ (EMA weights) and run.json into --out',
    )
    .addOption(new Option('--model <name>', 'which model').choices(MODEL_NAMES))
    .option('--data <spec>', HELP.data)
    .option('--source <spec>', HELP.source)
    .option('--target <spec>', 'nfbm: the target data (t = 0), of the same kind as --source (image sets: of the same image shape)')
    .option('--obstacle <cx,cy,r[,w]>', HELP.obstacle, obstacle)
    .option('--steps <N>', 'total training updates', positiveInt)
    .option('--out <dir>', 'output directory (required)')
    .option('--batch <B>', `batch size (default ${DEFAULTS.batch}; ot-cfm ${OT_CFM_BATCH})`, positiveInt)
    .option('--seed <S>', 'seed of the initial weights, batches and noise (default 0)', nonNegativeInt)
    .option('--hidden <widths>', `hidden layer widths of every network (default ${DEFAULTS.hidden.join(',')})`, widths)
    .option('--lr <rate>', `peak learning rate of Adam (default ${DEFAULTS.lr.toExponential()})`, positiveNumber)
    .addOption(new Option('--schedule <kind>', HELP.schedule).choices(['cosine', 'constant'] as const))
    .option('--warmup <steps>', 'linear warm-up updates (default min(100, steps/20))', nonNegativeInt)
    .option('--ema <decay>', HELP.ema, emaDecay)
    .option('--clip <norm>', `clip gradients to this global norm, or 'none' (default ${DEFAULTS.clip})`, clipNorm)
    .option('--eval-every <N>', 'held-out NELBO every N updates, 0 = only at the end (default 1000)', nonNegativeInt)
    .option('--checkpoint-every <N>', 'checkpoint every N updates, 0 = only at the end (default 1000)', nonNegativeInt)
    .option('--curvature-weight <weight>', HELP.curvatureWeight, nonNegativeNumber)
    .option('--log-every <N>', 'metrics.jsonl line every N updates (default 10)', positiveInt)
    .addOption(new Option('--standardize <method>', HELP.standardize).choices(STANDARDIZE_METHODS))
    .addOption(new Option('--outliers <policy>', HELP.outliers).choices(OUTLIER_POLICIES))
    .addOption(new Option('--arch <name>', HELP.arch).choices(['mlp', 'unet'] as const))
    .option('--base <channels>', 'U-Net width: channels of the first level (default 16)', positiveInt)
    .option('--dropout <rate>', HELP.dropout, dropoutRate)
    .addOption(new Option('--condition <kind>', HELP.condition).choices(['label'] as const))
    .option('--condition-dropout <rate>', HELP.conditionDropout, dropoutRate)
    .option('--condition-column <name>', HELP.conditionColumn, collect, [] as string[])
    .option('--condition-forward', HELP.conditionForward)
    .option('--reflow-from <dir>', HELP.reflowFrom)
    .option('--reflow-pairs <N>', 'rectified-flow --reflow-from: number of training pairs (default 10000)', positiveInt)
    .option('--config <file>', 'JSON settings (keys as in run.json "config"; flags win), or a previous run.json to repeat it')
    .option('--resume', 'continue the run in --out from its latest checkpoint (to --steps, if given)')
    .option('--force', 'replace a run already in --out')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--threads <n>', 'threads of the native kernels (default NFDM_NATIVE_THREADS or 1)', positiveInt)
    .option('--json', 'print the run summary as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      `\nModels:\n${MODEL_NAMES.map((m) => `  ${m.padEnd(14)} ${MODEL_DESCRIPTIONS[m]}`).join('\n')}\n${TRAIN_EXAMPLES}`,
    )
    .action(async (opts, command) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const cli = givenSettings(opts, (name) => command.getOptionValueSource(name) === 'cli');
      if (opts.conditionColumn.length > 0) cli.conditionColumns = opts.conditionColumn;
      const file = opts.config ? readSettingsFile(opts.config) : undefined;
      const dir = need(opts.out, '--out <dir>');
      const outcome = await runTraining(
        { out: dir, cli, file, resume: opts.resume, force: opts.force, backend: opts.backend, threads: opts.threads },
        out,
      );
      outcome.model.dispose();
      out.human(describeRun(outcome.summary, dir));
      out.result(outcome.summary);
      if (outcome.interrupted) ctx.exitCode = EXIT_INTERRUPTED;
    });
  return cmd;
}
