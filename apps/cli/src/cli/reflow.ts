/**
 * `nfdm train --model rectified-flow --reflow-from DIR`: one reflow round of rectified flow
 * (docs/maths/flow-matching.md#rectified-flow-and-reflow). The teacher at DIR (a flow-matching
 * model, usually the first rectified flow trained without --reflow-from) defines the pairs
 * [x̂ | z₁] with z₁ ~ N(0, I) and x̂ = ODE_{1→0}(z₁) (RK4, {@link REFLOW_ODE_STEPS} steps); the new
 * model starts from the teacher's architecture and weights, with coupling 'reflow', and trains on
 * those pairs. Pairs are regenerated from the same seeds on --resume, so a resumed run sees the
 * same data.
 */
import { type AnyModel, type AnyModelConfig, CFM_FORMAT, type CFMModel, type CFMModelConfig, reflowPairs } from '@nfdm/models';
import { arraySource } from '@nfdm/training';
import type { TrainingData } from './data.js';
import { CliError } from './errors.js';
import { locateModel, openModel } from './runtime.js';

/** Steps of the RK4 solve that maps each z₁ to its x̂. */
export const REFLOW_ODE_STEPS = 50;

/** Default number of training pairs (held-out pairs: a tenth, at least 100). */
export const DEFAULT_REFLOW_PAIRS = 10_000;

export interface ReflowRun {
  /** The training data replaced by pairs [x̂ | z₁] (2D columns; held-out pairs from another seed). */
  data: TrainingData;
  /** The teacher's config with coupling 'reflow'. */
  modelConfig: AnyModelConfig;
  /** Copy the teacher's weights into the new model (same architecture), then free the teacher. */
  initialise(model: AnyModel): void;
  /** Free the teacher without copying it (a resumed run loads its own weights). */
  dispose(): void;
}

/** The reflow data and model of a run from the teacher at `dir` (after the backend has started). */
export function reflowRun(dir: string, data: TrainingData, options: { seed: number; pairs?: number }): ReflowRun {
  const opened = openModel(locateModel(dir));
  if (opened.config.format !== CFM_FORMAT) {
    opened.model.dispose();
    throw new CliError(
      `--reflow-from ${dir}: expected a flow-matching model (cfm, ot-cfm or rectified-flow), got a ${opened.descriptor.title}`,
    );
  }
  const teacher = opened.model as CFMModel;
  if (teacher.dim !== data.info.dim) {
    teacher.dispose();
    throw new CliError(`--reflow-from ${dir}: the model has dim ${teacher.dim}, ${data.info.spec} has ${data.info.dim} values per row`);
  }
  const n = options.pairs ?? DEFAULT_REFLOW_PAIRS;
  const held = Math.max(100, Math.floor(n / 10));
  const draw = (count: number, seed: number) => {
    const pairs = reflowPairs(teacher, { n: count, seed, solver: 'rk4', steps: REFLOW_ODE_STEPS });
    const values = pairs.dataSync() as Float32Array;
    pairs.dispose();
    return values;
  };
  const dim = 2 * teacher.dim;
  const train = draw(n, options.seed);
  const heldOut = { data: draw(held, options.seed + 1), n: held, dim };
  const config = opened.config as CFMModelConfig;
  const source = `reflow pairs [x̂ | z₁] of ${dir} (${n} pairs, RK4 ${REFLOW_ODE_STEPS} steps)`;
  return {
    data: { ...data, info: { ...data.info, source }, source: arraySource(train, n, dim), heldOut, labels: undefined, vector: undefined },
    modelConfig: { ...config, flow: { ...config.flow, coupling: 'reflow' } },
    initialise(model) {
      const from = teacher.parameters();
      for (const [name, v] of model.parameters()) {
        const w = from.get(name);
        if (!w) throw new CliError(`--reflow-from ${dir}: the teacher has no parameter ${name}`);
        v.assign(w);
      }
      teacher.dispose();
    },
    dispose: () => teacher.dispose(),
  };
}
