/**
 * `nfdm classifier train | eval`: the in-repo Fashion-MNIST classifier that measures the sample
 * quality of image models (`nfdm eval --metrics sample-accuracy,frechet --classifier DIR`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { FASHION_MNIST_CLASSES, type LoadedDataset } from '@nfdm/datasets';
import { type ImageClassifier, sampleAccuracy, saveClassifier, trainClassifier } from '@nfdm/training';
import {
  CLASSIFIER_CLASSES,
  CLASSIFIER_RUN_FILE,
  CLASSIFIER_RUN_FORMAT,
  type ClassifierRun,
  checkClassifierFits,
  classifierConfigAt,
  labelledImages,
  openClassifier,
  readClassifierRun,
  type TestAccuracy,
} from '../classifiers.js';
import type { Context } from '../context.js';
import { TEST_SEED } from '../data.js';
import { CliError } from '../errors.js';
import { ensureDir, writeJson } from '../files.js';
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
      const train = labelledImages(spec, 'train', { seed: opts.seed });
      const test = labelledImages(spec, 'test', { seed: TEST_SEED });
      ensureDir(dir, `--out ${dir}`);
      const report = await startBackend(opts.backend, out, opts.threads);
      const [height, width, channels] = train.imageShape as [number, number, number];
      out.note(`training the classifier on ${train.n} images of ${spec} (${opts.steps} steps of ${opts.batch})…`);
      const progress = out.progress('training', opts.steps, 'steps');
      const started = performance.now();
      const { classifier, losses } = trainClassifier(train, train.labels as Uint8Array, {
        image: { height, width, channels },
        classes: CLASSIFIER_CLASSES,
        steps: opts.steps,
        batch: opts.batch,
        lr: opts.lr,
        seed: opts.seed,
        architecture: { ...(opts.channels ? { channels: opts.channels } : {}), ...(opts.features ? { features: opts.features } : {}) },
        onStep: (step, loss) => progress.update(step, `loss ${fmt(loss)}`),
      });
      progress.finish();
      const seconds = (performance.now() - started) / 1000;
      try {
        saveClassifier(classifier, dir);
        out.note(`test accuracy on ${test.n} test images…`);
        const tail = losses.subarray(Math.max(0, losses.length - 100));
        const run: ClassifierRun = {
          format: CLASSIFIER_RUN_FORMAT,
          data: spec,
          classes: [...FASHION_MNIST_CLASSES],
          training: {
            rows: train.n,
            steps: opts.steps,
            batch: opts.batch,
            lr: opts.lr,
            seed: opts.seed,
            finalLoss: tail.reduce((s, v) => s + v, 0) / Math.max(1, tail.length),
            seconds,
          },
          test: testAccuracy(classifier, test, spec),
          backend: report.backend,
        };
        writeJson(join(dir, CLASSIFIER_RUN_FILE), run);
        out.human(
          `classifier ${dir}: test accuracy ${fmt(run.test.accuracy)} on ${run.test.n} test images of ${spec} (${opts.steps} steps, ${fmt(seconds, 3)} s; written to ${join(dir, CLASSIFIER_RUN_FILE)})\n${perClassTable(run.test, run.classes)}`,
        );
        out.result({ out: dir, ...run });
      } finally {
        classifier.dispose();
      }
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

/** Accuracy on labelled test images, overall and per class. */
function testAccuracy(classifier: ImageClassifier, test: LoadedDataset, spec: string): TestAccuracy {
  const r = sampleAccuracy(classifier, test, test.labels as Uint8Array);
  return { data: spec, n: test.n, accuracy: r.overall, perClass: r.perClass };
}

/** Per-class accuracy as a table (classes without test images left out). */
function perClassTable(result: TestAccuracy, classes: string[]): string {
  const rows = [['class', 'accuracy', '']];
  result.perClass.forEach((a, k) => {
    if (a !== null) rows.push([String(k), fmt(a), classes[k] ?? '']);
  });
  return table(rows);
}
