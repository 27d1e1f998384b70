/**
 * `@nfdm/cli/lib`: the CLI's helpers that the experiment suite (`@nfdm/reproduce`,
 * apps/reproduce) builds on — training a run like `nfdm train`, the metrics, samplers and
 * plots of `nfdm eval`/`plot`, output, errors and the model table. Re-exports only.
 */

export { classifierFrechetDistance, type ImageClassifier, latestCheckpoint, sampleAccuracy } from '@nfdm/training';
export {
  type ClassifierRun,
  type ClassifierTrainSettings,
  classifierData,
  openClassifier,
  readClassifierRun,
  trainClassifierRun,
} from './cli/classifiers.js';
export type { Context } from './cli/context.js';
export { bridgeEvaluationData, evaluationData } from './cli/data.js';
export { CliError, EXIT_FAILURE, EXIT_INTERRUPTED, UsageError } from './cli/errors.js';
export { ensureDir, writeJson, writeText } from './cli/files.js';
export { evaluationImages } from './cli/image-sets.js';
export { main } from './cli/main.js';
export { nelboMetric, nllMetric, sampleMetrics } from './cli/metrics.js';
export { BACKENDS, type BackendChoice, examples, listOf, need } from './cli/options.js';
export { fmt, type Io, ignoreBrokenPipes, Output } from './cli/output.js';
export { samplesSvg, squareBounds, trajectoriesSvg, writePlot } from './cli/plotting.js';
export { MODEL_NAMES, type ModelName, PRESETS, presetCapabilities } from './cli/presets.js';
export { bridgeSpec, type RunSettings } from './cli/run-config.js';
export {
  drawBridge,
  drawSamples,
  logProbChoice,
  type OpenedModel,
  openedModel,
  openModel,
  RUN_FILE,
  readMeta,
  type SamplerChoice,
  samplerChoice,
  startBackend,
} from './cli/runtime.js';
export { FRECHET_NOTE, FRECHET_REFERENCE } from './cli/sample-quality.js';
export { type RunSummary, readRunSummary, runTraining } from './cli/training.js';
