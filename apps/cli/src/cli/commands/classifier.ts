/**
 * `nfdm classifier train | eval`: the in-repo Fashion-MNIST classifier that measures the sample
 * quality of image models (`nfdm eval --metrics sample-accuracy,frechet --classifier DIR`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import {
  CLASSIFIER_RUN_FILE,
  checkClassifierFits,
  classifierConfigAt,
  classifierData,
  labelledImages,
  openClassifier,
  readClassifierRun,
  type TestAccuracy,
  testAccuracy,
  trainClassifierRun,
} from '../classifiers.js';
import type { Context } from '../context.js';
import { TEST_SEED } from '../data.js';
import { CliError } from '../errors.js';
import { ensureDir } from '../files.js';
import { BACKENDS, examples, need, nonNegativeInt, positiveInt, positiveNumber, widths } from '../options.js';
import { fmt, Output, table } from '../output.js';
import { startBackend } from '../runtime.js';

export function classifierCommand(ctx: Context) {
  return new Command('classifier')
    .description(
      'train and test the in-repo Fashion-MNIST image classifier (a small CNN, no pretrained weights) that nfdm eval uses for sample accuracy and the Fréchet distance of its features (not Inception FID)',
    )
    .addCommand(trainClassifierCommand(ctx))
    .addCommand(evalClassifierCommand(ctx));
}

function trainClassifierCommand(ctx: Context) {
  return new Command('train')
    .description('train the classifier on the train split and report its accuracy on the test split (written to run.json)')
    .option('--data <spec>', 'fashion-mnist-14 or fashion-mnist (required)')
    .option('--out <dir>', 'output folder: config.json, weights.safetensors, run.json (required)')
    .option('--steps <K>', 'Adam updates', positiveInt, 6000)
    .option('--batch <B>', 'images per update', positiveInt, 128)
    .option('--lr <lr>', 'learning rate', positiveNumber, 2e-3)
    .option('--seed <S>', 'initial weights, minibatches and dequantisation', nonNegativeInt, 0)
    .option('--channels <list>', 'widths of the conv blocks (default 16,32,32)', widths)
    .option('--features <F>', 'width of the penultimate (feature) layer (default 64)', positiveInt)
    .option('--force', 'replace a classifier already in --out')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--threads <n>', 'threads of the native kernels (default NFDM_NATIVE_THREADS or 1)', positiveInt)
    .option('--json', 'print the summary as JSON on stdout')
    .option('--verbose', 'progress on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm classifier train --data fashion-mnist-14 --out runs/clf-14',
        'nfdm classifier train --data fashion-mnist --out runs/clf-28',
      ]),
    )
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const spec = need(opts.data, '--data <spec>').toLowerCase();
      const dir = need(opts.out, '--out <dir>');
      if (existsSync(join(dir, 'config.json')) && !opts.force)
        throw new CliError(`${dir} already holds a classifier; pass --force to replace it`);
      const data = classifierData(spec, opts.seed);
      ensureDir(dir, `--out ${dir}`);
      const report = await startBackend(opts.backend, out, opts.threads);
      out.note(`training the classifier on ${data.train.n} images of ${spec} (${opts.steps} steps of ${opts.batch})…`);
      const progress = out.progress('training', opts.steps, 'steps');
      const run = trainClassifierRun(
        data,
        dir,
        { steps: opts.steps, batch: opts.batch, lr: opts.lr, seed: opts.seed, channels: opts.channels, features: opts.features },
        report.backend,
        {
          onStep: (step, loss) => progress.update(step, `loss ${fmt(loss)}`),
          onTrained: (test) => {
            progress.finish();
            out.note(`test accuracy on ${test.n} test images…`);
          },
        },
      );
      out.human(
        `classifier ${dir}: test accuracy ${fmt(run.test.accuracy)} on ${run.test.n} test images of ${spec} (${opts.steps} steps, ${fmt(run.training.seconds, 3)} s; written to ${join(dir, CLASSIFIER_RUN_FILE)})\n${perClassTable(run.test, run.classes)}`,
      );
      out.result({ out: dir, ...run });
    });
}

function evalClassifierCommand(ctx: Context) {
  return new Command('eval')
    .description("a classifier's accuracy on the test split of labelled images")
    .option('--classifier <dir>', 'a folder written by nfdm classifier train (required)')
    .option('--data <spec>', 'fashion-mnist-14 or fashion-mnist, optionally :label=K,… (default: the data it was trained on)')
    .option('--n <N>', 'test images (default: the whole test split)', positiveInt)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--threads <n>', 'threads of the native kernels (default NFDM_NATIVE_THREADS or 1)', positiveInt)
    .option('--json', 'print the result as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm classifier eval --classifier runs/clf-14',
        'nfdm classifier eval --classifier runs/clf-14 --data fashion-mnist-14:label=5,7',
      ]),
    )
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const dir = need(opts.classifier, '--classifier <dir>');
      const config = classifierConfigAt(dir);
      const trained = readClassifierRun(dir);
      const spec = need<string>(opts.data ?? trained?.data, '--data <spec>').toLowerCase();
      const test = labelledImages(spec, 'test', { n: opts.n, seed: TEST_SEED });
      checkClassifierFits(config, test.imageShape, `--data ${spec} holds`, dir);
      await startBackend(opts.backend, out, opts.threads);
      const classifier = openClassifier(dir);
      try {
        const result = testAccuracy(classifier, test, spec);
        const classes = trained?.classes ?? Array.from({ length: config.classes }, (_, k) => String(k));
        out.human(
          `classifier ${dir}: test accuracy ${fmt(result.accuracy)} on ${result.n} test images of ${spec}\n${perClassTable(result, classes)}`,
        );
        out.result({ classifier: dir, ...result });
      } finally {
        classifier.dispose();
      }
    });
}

/** Per-class accuracy as a table (classes without test images left out). */
function perClassTable(result: TestAccuracy, classes: string[]): string {
  const rows = [['class', 'accuracy', '']];
  result.perClass.forEach((a, k) => {
    if (a !== null) rows.push([String(k), fmt(a), classes[k] ?? '']);
  });
  return table(rows);
}
