/**
 * `Trainer`: seeded training of any nfdm model — a {@link DiffusionModel} on the NFDM bound (or,
 * with `objective: { kind: 'ot' }`, on the NFDM-OT objective), an NFBM {@link BridgeModel} on
 * paired rows [target | source], a {@link DiffFlowModel} on its path KL (see task.ts) — with Adam/AdamW, a
 * learning-rate schedule, gradient clipping, EMA, periodic evaluation, JSONL metrics, atomic
 * checkpoints and exact resume.
 *
 * One update (step k → k + 1), in one `tf.tidy` with one read-back:
 *   x ← data.batch(dataRng, B); L, ∇ ← the family's loss and gradients with noise from noiseRng,
 *   the model in training mode (U-Net dropout masks from {@link dropoutRng}(k)); ∇ ← clip(∇) (global norm, pre-clip norm kept);
 *   read [L, ‖∇‖] (one stacked read); stop with {@link NonFiniteLossError} if either is not
 *   finite — before the update, so the weights stay those of step k;
 *   Adam/AdamW update at lr = schedule(k); EMA update.
 *
 * The state of a run is the weights, the EMA weights and update count (the EMA's warm-up), the
 * optimizer's moments and update count, and the two generators (data, noise): a checkpoint stores all of it, so `Trainer.resume`
 * continues with the same losses, bit for bit on the same backend (the dropout masks of update k
 * depend on the seed and k only, so they need no stored state). The model is in eval mode
 * (deterministic) outside the updates: evaluation, sampling and saving never drop out.
 * Evaluation uses its own fixed seed and never touches the training generators.
 *
 * The library never prints: progress goes to `onEvent` (see `ttyProgress` for a terminal line)
 * and to the metrics file.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { backendReport, loadParameters, Rng, type StoredTensor, setTraining, snapshotParameters } from '@nfdm/core';
import {
  type AnyModel,
  type AnyModelConfig,
  anyModelConfig,
  createAnyModel,
  type FamilyId,
  type HeldOutRole,
  heldOutRole,
  saveAnyModel,
} from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import {
  CHECKPOINT_FILES,
  type CheckpointData,
  CheckpointError,
  type CheckpointHooks,
  checkpointName,
  cleanCheckpointTemp,
  LATEST_FILE,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  resolveCheckpointDir,
  writeCheckpoint,
} from '../checkpoint/checkpoint.js';
import { Adam, clipByGlobalNorm } from '../optim/adam.js';
import { EMA } from '../optim/ema.js';
import { learningRate } from '../optim/schedules.js';
import { resolveTrainerConfig, type TrainerConfig, type TrainerConfigInput } from './config.js';
import type { DataSource } from './data.js';
import { NonFiniteLossError } from './errors.js';
import { JsonlWriter, truncateMetricsLog } from './metrics-log.js';
import { type TrainingTask, trainingTask } from './task.js';

/** What one update measured. */
export interface StepStats {
  /** Updates done after this one (1-based index of this update). */
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
  /** Wall time of the update in milliseconds. */
  ms: number;
}

/** One held-out metric of the family's task at an evaluation (model units, i.e. standardised data). */
export interface HeldOutValue {
  /** Key in the metrics record, e.g. 'nelbo'. */
  key: string;
  /** For people, e.g. 'NELBO'. */
  label: string;
  /** What it is: the NELBO, another NLL bound, the held-out objective, or a diagnostic. */
  role: HeldOutRole;
  mean: number;
  /** Standard error of the mean, if the task reports one (else NaN). */
  stderr: number;
}

export type TrainerEvent =
  | { type: 'step'; step: number; steps: number; loss: number; gradNorm: number; lr: number; msPerStep: number }
  /** The family's held-out metrics, typed (emitted before `eval` when held-out data is given). */
  | { type: 'heldOut'; step: number; steps: number; family: FamilyId; values: HeldOutValue[] }
  | { type: 'eval'; step: number; steps: number; metrics: Record<string, number> }
  | { type: 'checkpoint'; step: number; steps: number; path: string }
  | { type: 'signal'; step: number; steps: number; signal: string }
  | { type: 'done'; step: number; steps: number; reason: 'completed' | 'interrupted' };

export interface EvalContext<M extends AnyModel = AnyModel> {
  step: number;
  /** The model, with the EMA weights swapped in when `ema` is true. */
  model: M;
  ema: boolean;
}

/** User evaluation (e.g. sample metrics); must not use the training generators. */
export type EvalCallback<M extends AnyModel = AnyModel> = (
  context: EvalContext<M>,
) => Record<string, number> | Promise<Record<string, number>>;

export interface TrainerOptions<M extends AnyModel = AnyModel> {
  /** A DiffusionModel, BridgeModel or DiffFlowModel. */
  model: M;
  /** Rows [B, D] (bridges: [B, 2D], target columns then source columns). */
  data: DataSource;
  config: TrainerConfigInput;
  /** Root folder of the checkpoints (none are written without it). */
  checkpointDir?: string;
  /** JSONL metrics file; default `<checkpointDir>/metrics.jsonl`, `null` for none. */
  metricsPath?: string | null;
  /** Held-out rows [N, D] ([N, 2D] for bridges) for the held-out metrics at each evaluation (not disposed by the trainer). */
  evalData?: tf.Tensor;
  /**
   * Conditional models: the conditions y [N, w] of the `evalData` rows (the held-out metrics are
   * then conditional, e.g. the NELBO of −log p(x | y)); required with `evalData` (not disposed by the trainer).
   */
  evalConditions?: tf.Tensor;
  onEval?: EvalCallback<M>;
  /** Progress and lifecycle events (called synchronously; keep it cheap). */
  onEvent?: (event: TrainerEvent) => void;
  /** Install SIGINT/SIGTERM handlers for the duration of {@link Trainer.run}. */
  handleSignals?: boolean;
  /** Hooks called while checkpoints are written (tests, tooling). */
  checkpointHooks?: CheckpointHooks;
  /**
   * A fresh run into a `checkpointDir` that already holds checkpoints is refused (resume it
   * with {@link Trainer.resume} instead) unless this is true, which deletes them first.
   */
  overwrite?: boolean;
}

/** Options of {@link Trainer.resume}: those of a new trainer, less the model (rebuilt from the checkpoint). */
export interface ResumeOptions<M extends AnyModel = AnyModel> extends Omit<TrainerOptions<M>, 'model' | 'config' | 'overwrite'> {
  /**
   * Changes to the stored config, e.g. `{ steps }` to train longer. Changing anything that
   * enters the updates (optimizer, schedule, batch size, seed, clipping, EMA) gives a
   * different run than an uninterrupted one. A stored config without `emaWarmup` (written
   * before the field existed) resumes with `emaWarmup: false`, as it was trained.
   */
  config?: Partial<TrainerConfigInput>;
}

export interface TrainResult {
  /** Updates done. */
  step: number;
  reason: 'completed' | 'interrupted';
  /** The signal (or 'stop' for {@link Trainer.requestStop}) that interrupted the run. */
  signal?: string;
  /** The last checkpoint written, if any. */
  checkpoint?: string;
  /** Loss of the last update of this call (NaN if none ran). */
  loss: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Trainer<M extends AnyModel = AnyModel> {
  readonly model: M;
  /** What one update of this model's family computes. */
  readonly task: TrainingTask;
  readonly config: TrainerConfig;
  readonly optimizer: Adam;
  readonly ema: EMA | null;
  readonly checkpointDir?: string;
  /** Updates done so far. */
  step = 0;
  /** The last checkpoint written or resumed from. */
  lastCheckpoint?: string;
  private dataRng: Rng;
  private noiseRng: Rng;
  /** Seed of the dropout masks' generators (see {@link dropoutRng}). */
  private readonly dropoutSeed: number;
  private readonly data: DataSource;
  /** Stored without the model type (the onEval callback's parameter would make Trainer<M> invariant). */
  private readonly options: TrainerOptions<AnyModel>;
  private readonly variables: tf.Variable[];
  private readonly modelConfigJson?: AnyModelConfig;
  private metrics?: JsonlWriter;
  private readonly metricsPath?: string;
  private stopReason?: string;
  private lastCheckpointStep = -1;
  private lastEvalStep = -1;
  private ownsModel = false;
  private window = { loss: 0, ms: 0, n: 0 };

  /** `resumed` is internal (used by {@link Trainer.resume}). */
  constructor(options: TrainerOptions<M>, resumed?: { checkpoint: CheckpointData; path: string }) {
    this.options = options as unknown as TrainerOptions<AnyModel>;
    this.model = options.model;
    this.data = options.data;
    this.config = resolveTrainerConfig(options.config);
    this.task = trainingTask(this.model, this.config.objective);
    const dataDim = this.task.dataDim;
    if (this.data.dim !== dataDim) throw new RangeError(`data dim ${this.data.dim} ≠ ${dataDim} (${this.task.dataRow})`);
    if (options.evalData && (options.evalData.rank !== 2 || options.evalData.shape[1] !== dataDim)) {
      throw new RangeError(`evalData must be [N, ${dataDim}], got [${options.evalData.shape}]`);
    }
    checkConditions(this.task, this.data, options.evalData, options.evalConditions);
    this.checkpointDir = options.checkpointDir;
    if (this.checkpointDir) {
      this.modelConfigJson = anyModelConfig(this.model);
      if (!resumed) {
        const existing = latestCheckpoint(this.checkpointDir);
        if (existing && !options.overwrite) {
          throw new CheckpointError(
            this.checkpointDir,
            `already holds checkpoints (latest: ${existing}); resume with Trainer.resume() or pass overwrite: true to delete them`,
          );
        }
        if (options.overwrite) {
          for (const c of listCheckpoints(this.checkpointDir)) rmSync(c.path, { recursive: true, force: true });
          rmSync(join(this.checkpointDir, LATEST_FILE), { force: true });
        }
      }
      cleanCheckpointTemp(this.checkpointDir);
    }
    const root = new Rng(this.config.seed);
    this.dataRng = root.fork();
    this.noiseRng = root.fork();
    this.dropoutSeed = root.nextUint32();
    const params = this.model.parameters();
    this.optimizer = new Adam(params, this.config.optimizer);
    this.variables = this.optimizer.variables;
    this.ema = this.config.ema === null ? null : new EMA(params, this.config.ema, { warmup: this.config.emaWarmup });
    if (resumed) {
      try {
        this.restore(resumed.checkpoint, resumed.path);
      } catch (error) {
        this.optimizer.dispose();
        this.ema?.dispose();
        throw error;
      }
    }
    const metricsPath =
      options.metricsPath === undefined
        ? this.checkpointDir
          ? join(this.checkpointDir, 'metrics.jsonl')
          : undefined
        : options.metricsPath;
    if (metricsPath) {
      this.metricsPath = metricsPath;
      truncateMetricsLog(metricsPath, this.step);
    }
  }

  /**
   * Rebuild a trainer from a checkpoint: `dir` is a checkpoint root (its `latest`, or the newest
   * complete checkpoint) or one `ckpt-<step>` directory. The model is rebuilt from the stored
   * config (fresh objects, owned and disposed by the trainer); weights, EMA, optimizer state,
   * step and generators are restored; metrics lines past the checkpoint are dropped; left-over
   * temporary directories are removed.
   */
  static resume<M extends AnyModel = AnyModel>(dir: string, options: ResumeOptions<M>): Trainer<M> {
    const path = resolveCheckpointDir(dir);
    const checkpoint = readCheckpoint(path);
    const model = createAnyModel(checkpoint.model) as M;
    // Checkpoints written before `emaWarmup` existed trained without the warm-up: keep it off.
    const legacy = checkpoint.trainer.emaWarmup === undefined ? { emaWarmup: false } : {};
    try {
      const trainer = new Trainer<M>(
        {
          ...options,
          model,
          config: { ...checkpoint.trainer, ...legacy, ...(options.config ?? {}) } as unknown as TrainerConfigInput,
          checkpointDir: options.checkpointDir ?? dirname(path),
        },
        { checkpoint, path },
      );
      trainer.ownsModel = true;
      return trainer;
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  private restore(c: CheckpointData, path: string): void {
    const stage = (file: string, fn: () => void) => {
      try {
        fn();
      } catch (error) {
        throw new CheckpointError(join(path, file), (error as Error).message, { cause: error });
      }
    };
    stage(CHECKPOINT_FILES.weights, () => loadParameters(this.model, { tensors: c.weights, metadata: {} }));
    const ema = this.ema;
    if (ema) {
      stage(CHECKPOINT_FILES.ema, () => {
        loadParameters(ema.averages, { tensors: c.ema ?? c.weights, metadata: {} });
        // No stored count: a checkpoint from before the count was stored, whose EMA was
        // updated at every step; no stored EMA: the averages start now from the weights.
        ema.updates = c.ema ? (c.emaUpdates ?? c.step) : 0;
      });
    }
    stage(CHECKPOINT_FILES.optimizer, () =>
      this.optimizer.loadState({ step: c.optimizer.step, tensors: c.optimizer.tensors, config: c.optimizer.config }),
    );
    const { data, noise } = c.rng;
    if (!data || !noise) throw new CheckpointError(path, 'rng.json must hold the data and noise generator states');
    this.dataRng = Rng.fromState(data);
    this.noiseRng = Rng.fromState(noise);
    this.step = c.step;
    this.lastCheckpoint = path;
    this.lastCheckpointStep = c.step;
    this.lastEvalStep = c.step;
  }

  private emit(event: TrainerEvent): void {
    this.options.onEvent?.(event);
  }

  private get backend(): string {
    return backendReport()?.backend ?? tf.getBackend();
  }

  /**
   * One update. Throws {@link NonFiniteLossError} (without changing any state: weights,
   * optimizer, EMA and generators stay those of the last good step) if the loss or the
   * gradient norm is not finite.
   */
  trainStep(): StepStats {
    if (this.ema?.isSwapped) throw new Error('trainStep() while the EMA weights are swapped in');
    const { batchSize, clipNorm } = this.config;
    const lr = learningRate(this.config.schedule, this.step);
    const rngBefore = [this.dataRng.state(), this.noiseRng.state()];
    const start = performance.now();
    let loss = Number.NaN;
    let gradNorm = Number.NaN;
    try {
      tf.tidy(() => {
        const { x, y } = this.drawBatch(batchSize);
        const { value, grads } = this.trainingMode(() => this.task.lossAndGrads(x, this.noiseRng, this.variables, this.step, y));
        const ordered = this.variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
        const clipped = clipByGlobalNorm(ordered, clipNorm);
        const read = tf.stack([value, clipped.norm]).dataSync();
        loss = read[0];
        gradNorm = read[1];
        if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
          throw new NonFiniteLossError(this.step + 1, loss, gradNorm, this.lastCheckpoint);
        }
        this.optimizer.apply(clipped.grads, lr);
        this.ema?.update();
      });
    } catch (error) {
      this.dataRng = Rng.fromState(rngBefore[0]);
      this.noiseRng = Rng.fromState(rngBefore[1]);
      throw error;
    }
    const ms = performance.now() - start;
    this.step += 1;
    const stats: StepStats = { step: this.step, loss, gradNorm, lr, ms };
    this.record(stats);
    return stats;
  }

  /** The next training batch: rows x, with their conditions y for a conditional task. */
  private drawBatch(size: number): { x: tf.Tensor2D; y?: tf.Tensor2D } {
    if (!this.task.conditionDim) return { x: this.data.batch(this.dataRng, size) };
    return (this.data.conditionedBatch as NonNullable<DataSource['conditionedBatch']>)(this.dataRng, size);
  }

  /**
   * The generator of the dropout masks of update `step` (0-based): seeded by the run's seed and
   * `step` alone (splitmix32 spreads neighbouring seeds), so a resumed run draws the masks of an
   * uninterrupted one. Models without dropout never draw from it.
   */
  dropoutRng(step: number): Rng {
    return new Rng((this.dropoutSeed + step) >>> 0);
  }

  /** Run `fn` with the model in training mode (masks of the current update), then back in eval mode. */
  private trainingMode<T>(fn: () => T): T {
    setTraining(this.model, this.dropoutRng(this.step));
    try {
      return fn();
    } finally {
      setTraining(this.model, null);
    }
  }

  private record(s: StepStats): void {
    const w = this.window;
    w.loss += s.loss;
    w.ms += s.ms;
    w.n += 1;
    this.emit({ type: 'step', step: s.step, steps: this.config.steps, loss: s.loss, gradNorm: s.gradNorm, lr: s.lr, msPerStep: s.ms });
    if (s.step % this.config.logEvery === 0) {
      this.log({
        type: 'train',
        step: s.step,
        loss: s.loss,
        loss_mean: w.loss / w.n,
        lr: s.lr,
        grad_norm: s.gradNorm,
        ms_per_step: w.ms / w.n,
        backend: this.backend,
      });
      this.window = { loss: 0, ms: 0, n: 0 };
    }
  }

  private log(record: Record<string, unknown>): void {
    if (!this.metricsPath) return;
    if (!this.metrics) this.metrics = new JsonlWriter(this.metricsPath);
    this.metrics.write(record);
  }

  /**
   * Evaluate now: the family's held-out metrics of `evalData` with `evalDraws` draws and the
   * fixed `evalSeed` (diffusion: the NELBO in nats per sample, or for the `ot` objective the
   * held-out NFDM-OT loss `ot_loss`; bridge: `bridge_bound`; DiffFlow: `nll_bound` — see
   * task.ts), plus the `onEval` metrics — with the EMA weights swapped in when EMA is on, and the
   * model in eval mode (no dropout). Logged as a `type: "eval"` metrics line and an `eval` event.
   */
  async evaluate(): Promise<Record<string, number>> {
    const { evalData, evalConditions, onEval } = this.options;
    const useEma = this.ema !== null;
    setTraining(this.model, null); // eval mode (the model is only in training mode inside an update)
    const body = async () => {
      const metrics: Record<string, number> = evalData
        ? this.task.heldOut(evalData as tf.Tensor2D, this.config.evalDraws, this.config.evalSeed, evalConditions as tf.Tensor2D | undefined)
        : {};
      if (onEval) Object.assign(metrics, await onEval({ step: this.step, model: this.model, ema: useEma }));
      return metrics;
    };
    const metrics = this.ema ? await this.ema.withAverage(body) : await body();
    this.lastEvalStep = this.step;
    if (evalData) {
      const values = this.task.heldOutMetrics.map(
        (m): HeldOutValue => ({
          key: m.key,
          label: m.label,
          role: heldOutRole(m),
          mean: metrics[m.key],
          stderr: m.stderrKey ? metrics[m.stderrKey] : Number.NaN,
        }),
      );
      this.emit({ type: 'heldOut', step: this.step, steps: this.config.steps, family: this.task.family, values });
    }
    this.log({ type: 'eval', step: this.step, ema: useEma, ...metrics });
    this.emit({ type: 'eval', step: this.step, steps: this.config.steps, metrics });
    return metrics;
  }

  /** The state of the run as checkpoint data (copies). */
  snapshot(): CheckpointData {
    if (this.ema?.isSwapped) throw new Error('cannot snapshot while the EMA weights are swapped in');
    const opt = this.optimizer.state();
    return {
      step: this.step,
      model: this.modelConfigJson ?? anyModelConfig(this.model),
      trainer: { ...this.config } as unknown as Record<string, unknown>,
      weights: snapshotParameters(this.model),
      ema: this.ema?.snapshot(),
      ...(this.ema ? { emaUpdates: this.ema.updates } : {}),
      optimizer: {
        config: opt.config,
        step: opt.step,
        schedule: this.config.schedule,
        lr: learningRate(this.config.schedule, this.step),
        tensors: opt.tensors,
      },
      rng: { data: this.dataRng.state(), noise: this.noiseRng.state() },
      backend: this.backend,
      tfjs: tf.version.tfjs,
    };
  }

  /** Write `ckpt-<step>` under `checkpointDir` (atomically), update `latest`, prune. Returns its path. */
  checkpoint(): string {
    if (!this.checkpointDir) throw new CheckpointError('(none)', 'this trainer has no checkpointDir');
    const path = writeCheckpoint(this.checkpointDir, this.snapshot(), { keep: this.config.keep, hooks: this.options.checkpointHooks });
    this.lastCheckpoint = path;
    this.lastCheckpointStep = this.step;
    this.emit({ type: 'checkpoint', step: this.step, steps: this.config.steps, path });
    return path;
  }

  /** Ask {@link run} to stop after the current update (it then checkpoints and resolves). */
  requestStop(reason = 'stop'): void {
    this.stopReason ??= reason;
  }

  /**
   * On the first SIGINT/SIGTERM: finish the current update, checkpoint, and let {@link run}
   * resolve with `reason: 'interrupted'` (the caller picks the exit code). A second signal
   * removes the handlers and re-raises it (default action: the process ends). Returns a
   * function that removes the handlers.
   */
  installSignalHandlers(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): () => void {
    const handler = (signal: NodeJS.Signals) => {
      if (this.stopReason !== undefined) {
        uninstall();
        process.kill(process.pid, signal);
        return;
      }
      this.requestStop(signal);
      this.emit({ type: 'signal', step: this.step, steps: this.config.steps, signal });
    };
    const uninstall = () => {
      for (const s of signals) process.off(s, handler);
    };
    for (const s of signals) process.on(s, handler);
    return uninstall;
  }

  /**
   * Train until `config.steps` updates are done or a stop is requested. Evaluates every
   * `evalEvery` steps (and at the end when there is eval data or `onEval`), checkpoints every
   * `checkpointEvery` steps and at the end (also when interrupted). Yields to the event loop
   * between updates so signals and I/O are handled. Rejects with {@link NonFiniteLossError}.
   */
  async run(): Promise<TrainResult> {
    const uninstall = this.options.handleSignals ? this.installSignalHandlers() : undefined;
    const { steps, evalEvery, checkpointEvery } = this.config;
    const canEval = this.options.evalData !== undefined || this.options.onEval !== undefined;
    let loss = Number.NaN;
    try {
      while (this.step < steps && this.stopReason === undefined) {
        loss = this.trainStep().loss;
        if (canEval && evalEvery > 0 && this.step % evalEvery === 0) await this.evaluate();
        if (this.checkpointDir && checkpointEvery > 0 && this.step % checkpointEvery === 0) this.checkpoint();
        await yieldToEventLoop();
      }
      const reason = this.stopReason === undefined ? 'completed' : 'interrupted';
      if (reason === 'completed' && canEval && this.lastEvalStep !== this.step) await this.evaluate();
      if (this.checkpointDir && this.lastCheckpointStep !== this.step) this.checkpoint();
      this.emit({ type: 'done', step: this.step, steps, reason });
      const result: TrainResult = { step: this.step, reason, checkpoint: this.lastCheckpoint, loss };
      if (this.stopReason !== undefined) result.signal = this.stopReason;
      this.stopReason = undefined;
      return result;
    } finally {
      uninstall?.();
    }
  }

  /** The raw weights of the model now, by name (copies). */
  weights(): Map<string, StoredTensor> {
    return snapshotParameters(this.model);
  }

  /**
   * Save the model (config.json + weights.safetensors, loadable by `loadAnyModel`, and by
   * `loadModel` for diffusion models) to `dir`,
   * with the EMA weights by default when EMA is on.
   */
  saveModel(dir: string, options: { ema?: boolean } = {}): AnyModelConfig {
    const useEma = (options.ema ?? true) && this.ema !== null;
    if (!useEma) return saveAnyModel(this.model, dir);
    const ema = this.ema as EMA;
    const already = ema.isSwapped;
    ema.swapIn();
    try {
      return saveAnyModel(this.model, dir);
    } finally {
      if (!already) ema.swapOut();
    }
  }

  /** Free the optimizer state, the EMA and the metrics file (and the model when {@link resume} built it). */
  dispose(): void {
    this.metrics?.close();
    this.metrics = undefined;
    this.optimizer.dispose();
    this.ema?.dispose();
    if (this.ownsModel) this.model.dispose();
  }
}

/**
 * A conditional task needs data (and held-out rows) with conditions of its width; an
 * unconditional one refuses them (RangeError, one line).
 */
function checkConditions(task: TrainingTask, data: DataSource, evalData?: tf.Tensor, evalConditions?: tf.Tensor): void {
  const w = task.conditionDim ?? 0;
  const dataW = data.conditionedBatch ? (data.conditionDim ?? 0) : 0;
  if (w === 0) {
    if (dataW > 0)
      throw new RangeError(`the data carry conditions (width ${dataW}) but the model is unconditional (no "condition" section)`);
    if (evalConditions) throw new RangeError('evalConditions given but the model is unconditional');
    return;
  }
  if (dataW !== w) {
    const has = dataW === 0 ? 'carry none' : `have width ${dataW}`;
    throw new RangeError(`a conditional model trains on rows with conditions of width ${w}; the data ${has}`);
  }
  if (!evalData) return;
  const n = evalData.shape[0];
  if (!evalConditions) throw new RangeError(`a conditional model's held-out rows need their conditions: pass evalConditions [${n}, ${w}]`);
  if (evalConditions.rank !== 2 || evalConditions.shape[0] !== n || evalConditions.shape[1] !== w) {
    throw new RangeError(`evalConditions must be [${n}, ${w}], got [${evalConditions.shape}]`);
  }
}

/** Path of the checkpoint directory of `step` under `root`. */
export function checkpointPath(root: string, step: number): string {
  return join(root, checkpointName(step));
}
