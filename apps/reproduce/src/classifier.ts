/**
 * The classifier that judges the images of `nfdm reproduce`: the in-repo Fashion-MNIST classifier,
 * trained by the harness itself through the code of `nfdm classifier train` into
 * DIR/runs/classifier/<data>, and the squared Fréchet distance of its penultimate features
 * (NOT Inception FID: see FRECHET_NOTE). Both image experiments share it: the first one trains it,
 * the other reuses it (and so does --resume when its settings have not changed).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classifierData,
  evaluationImages,
  FRECHET_REFERENCE,
  type ImageClassifier,
  openClassifier,
  readClassifierRun,
  trainClassifierRun,
} from '@nfdm/cli/lib';
import type { DataMatrix } from '@nfdm/datasets';
import type { ImageData } from './budgets.js';
import type { SuiteContext } from './common.js';

/** The classifier of one data set, as the report states it. */
export interface ClassifierInfo {
  /** Relative to DIR. */
  run: string;
  data: string;
  steps: number;
  batch: number;
  lr: number;
  trainImages: number;
  testImages: number;
  accuracy: number;
  /** Training wall time, seconds. */
  seconds: number;
}

const RECORD = 'reproduce-classifier.json';
const SEED = 0;

/** Classifiers trained by this invocation (per suite context): reused by the next experiment without --resume. */
const trainedHere = new WeakMap<SuiteContext, Set<string>>();

function infoOf(rel: string, dir: string): ClassifierInfo | undefined {
  const run = readClassifierRun(dir);
  if (!run) return undefined;
  const t = run.training;
  return {
    run: rel,
    data: run.data,
    steps: t.steps,
    batch: t.batch,
    lr: t.lr,
    trainImages: t.rows,
    testImages: run.test.n,
    accuracy: run.test.accuracy,
    seconds: t.seconds,
  };
}

/**
 * The classifier of `data` under the budget's settings: reused when it was trained with them by
 * this invocation or (--resume) an earlier one, else trained now.
 */
export function ensureClassifier(ctx: SuiteContext, data: ImageData): ClassifierInfo {
  const rel = join('runs', 'classifier', data);
  const dir = join(ctx.out, rel);
  const settings = { data, ...ctx.budget.classifier, seed: SEED };
  const key = JSON.stringify(settings);
  const here = trainedHere.get(ctx) ?? new Set<string>();
  trainedHere.set(ctx, here);
  const record = join(dir, RECORD);
  const same = existsSync(record) && readFileSync(record, 'utf8') === key;
  const reused = same && (ctx.resume || here.has(dir)) ? infoOf(rel, dir) : undefined;
  if (reused) return reused;
  ctx.note(`[classifier] ${data}: training the judge of the image experiments, ${settings.steps} steps of ${settings.batch}…`);
  rmSync(dir, { recursive: true, force: true });
  trainClassifierRun(classifierData(data, SEED), dir, settings, ctx.backend);
  writeFileSync(record, key); // the settings key, compared byte for byte
  here.add(dir);
  return infoOf(rel, dir) as ClassifierInfo;
}

/** Open the classifier of a run (dispose it when done). */
export function openJudge(ctx: SuiteContext, info: ClassifierInfo): ImageClassifier {
  return openClassifier(join(ctx.out, info.run));
}

/** The test images the Fréchet distance compares with: the test split of `spec` (at most FRECHET_REFERENCE). */
export function frechetReference(spec: string): DataMatrix {
  return evaluationImages(spec, FRECHET_REFERENCE).data;
}
