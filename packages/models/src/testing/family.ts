/**
 * The family contract: checks every {@link FamilyDescriptor} must pass — the built-in diffusion,
 * bridge and DiffFlow families and any family a downstream package registers:
 *
 * - registration: `familyOfConfig(config)` and `familyById(id)` return the descriptor;
 * - config round trip: parse(config) → create → configOf → parse gives the same JSON, the
 *   descriptor owns the model, `familyOf(model)` finds it, and it owns no foreign object;
 * - capabilities: every capability is a boolean under every objective the family trains with;
 *   an objective it does not train with is refused;
 * - training task, for every objective: one update gives a finite loss and a gradient for some
 *   model parameter, of its shape; the held-out metrics are exactly the keys the task declares
 *   (`heldOutMetrics`, with their stderr keys, also the descriptor's if it declares them), finite,
 *   and repeat for the same seed;
 * - operations, for every objective: an operation exists exactly where its capability says so
 *   (sample, transport, logProb, curvature, forwardTrajectories; `ownSampler` where the core
 *   solvers do not apply; `nllBound` where the NELBO is reported), and each returns finite values
 *   of the documented shapes, repeatable for the same seed (transport takes the last D columns
 *   of a data row as its sources);
 * - no check leaks tensors (beyond the model it builds and disposes).
 */
import { Rng } from '@nfdm/core';
import { type ContractCheck, check, checkNoLeak, jsonEqual } from '@nfdm/core/testing';
import * as tf from '@tensorflow/tfjs';
import { capabilitiesOf, familyById, familyOf, familyOfConfig } from '../families/registry.js';
import type { FamilyCapabilities, FamilyDescriptor, FamilyOperations, Objective } from '../families/types.js';

export interface FamilyContractOptions<C> {
  /** A valid config of the family (small networks keep the checks fast). */
  config: C;
  /** Training rows for the task, [N, dataDim] row-major with N = rows (N ≥ 2). */
  data: Float32Array;
  rows: number;
  /** Objectives to check the task with (default: every objective the family trains with, `ot` with curvature weight 1). */
  objectives?: Objective[];
}

const CAPABILITY_KEYS: readonly (keyof FamilyCapabilities)[] = [
  'sample',
  'transport',
  'logProb',
  'nelbo',
  'bound',
  'curvature',
  'fewStep',
  'sde',
  'solvers',
  'adaptive',
  'forwardTrajectories',
];

function objectivesOf(family: FamilyDescriptor, given?: Objective[]): Objective[] {
  if (given) return given;
  return family.objectives.map((kind): Objective => (kind === 'ot' ? { kind: 'ot', curvatureWeight: 1 } : { kind: 'nelbo' }));
}

function withModel<M, C extends { format: string; dim: number }>(
  family: FamilyDescriptor<M, C>,
  config: C,
  body: (model: M) => void,
): void {
  const model = family.create(family.parseConfig(config));
  try {
    body(model);
  } finally {
    (model as { dispose?: () => void }).dispose?.();
  }
}

/** The family contract's checks for `family` (see the module doc). */
export function familyChecks<M, C extends { format: string; dim: number }>(
  family: FamilyDescriptor<M, C>,
  options: FamilyContractOptions<C>,
): ContractCheck[] {
  const objectives = objectivesOf(family as FamilyDescriptor, options.objectives);
  const checks: ContractCheck[] = [
    {
      name: `${family.id}: registered under its id and config format`,
      run: () => {
        check(familyById(family.id) === family, `familyById('${family.id}') is another descriptor (is the family registered?)`);
        check(familyOfConfig(options.config) === family, `familyOfConfig finds another family for format '${options.config.format}'`);
      },
    },
    {
      name: `${family.id}: config → model → config round trip`,
      run: () => {
        const parsed = family.parseConfig(options.config);
        check(jsonEqual(family.parseConfig(JSON.parse(JSON.stringify(parsed))), parsed), 'parseConfig is not idempotent on its own output');
        withModel(family, parsed, (model) => {
          check(family.owns(model), 'the descriptor does not own the model it created');
          check(familyOf(model) === family, 'familyOf(model) finds another family');
          check(!family.owns({}) && !family.owns(null), 'the descriptor owns a foreign object');
          const again = family.parseConfig(
            JSON.parse(JSON.stringify(family.configOf(model, { seed: (parsed as { seed?: number }).seed }))),
          );
          check(
            jsonEqual(again, parsed),
            `configOf(create(config)) differs from config: ${JSON.stringify(again)} vs ${JSON.stringify(parsed)}`,
          );
        });
      },
    },
    {
      name: `${family.id}: capabilities are booleans under every objective; foreign objectives are refused`,
      run: () => {
        for (const objective of objectives) {
          const caps = capabilitiesOf(family as FamilyDescriptor, objective);
          for (const key of CAPABILITY_KEYS)
            check(typeof caps[key] === 'boolean', `capability '${key}' is ${typeof caps[key]} under '${objective.kind}'`);
        }
        const foreign = (['nelbo', 'ot'] as const).filter((k) => !family.objectives.includes(k));
        for (const kind of foreign) {
          let threw = false;
          try {
            capabilitiesOf(family as FamilyDescriptor, kind === 'ot' ? { kind, curvatureWeight: 1 } : { kind });
          } catch {
            threw = true;
          }
          check(threw, `the '${kind}' objective is not refused`);
        }
      },
    },
  ];
  for (const objective of objectives) checks.push(taskCheck(family, options, objective));
  for (const objective of objectives) checks.push(operationsCheck(family, options, objective));
  return checks;
}

/** Capabilities and the operation each one promises. */
const OPERATION_OF: ReadonlyArray<[keyof FamilyCapabilities, keyof FamilyOperations<unknown>]> = [
  ['sample', 'sample'],
  ['transport', 'transport'],
  ['logProb', 'logProb'],
  ['curvature', 'curvature'],
  ['forwardTrajectories', 'forwardTrajectories'],
];

function finiteOf(t: tf.Tensor, what: string): void {
  check((t.dataSync() as Float32Array).every(Number.isFinite), `${what} is not finite`);
}

function operationsCheck<M, C extends { format: string; dim: number }>(
  family: FamilyDescriptor<M, C>,
  options: FamilyContractOptions<C>,
  objective: Objective,
): ContractCheck {
  return {
    name: `${family.id}: operations under '${objective.kind}' match the capabilities and return finite values of their shapes`,
    run: () =>
      withModel(family, options.config, (model) => {
        const caps = capabilitiesOf(family as FamilyDescriptor, objective);
        const ops: FamilyOperations<M> = family.operations ?? {};
        for (const [cap, op] of OPERATION_OF)
          check(
            caps[cap] === (ops[op] !== undefined),
            `capability '${cap}' is ${caps[cap]} but operation '${op}' is ${ops[op] ? 'present' : 'missing'}`,
          );
        check(
          caps.solvers === (ops.ownSampler === undefined),
          `'solvers' is ${caps.solvers} but ownSampler is ${ops.ownSampler ? 'present' : 'missing'}`,
        );
        if (caps.nelbo) check(ops.nllBound !== undefined, "capability 'nelbo' needs the nllBound operation");
        exerciseOperations(ops, model, caps, options);
      }),
  };
}

/** Run every operation a family has on the contract's data: shapes, finiteness, repeatability, no leaks. */
function exerciseOperations<M, C extends { format: string; dim: number }>(
  ops: FamilyOperations<M>,
  model: M,
  caps: FamilyCapabilities,
  options: FamilyContractOptions<C>,
): void {
  const D = options.config.dim;
  const cols = options.data.length / options.rows;
  const rows = tf.tensor2d(options.data, [options.rows, cols]);
  const x = tf.slice(rows, [0, cols - D], [options.rows, D]) as tf.Tensor2D;
  const draw = {
    mode: caps.sde ? ('sde' as const) : ('ode' as const),
    solver: caps.sde ? 'euler_maruyama' : 'euler',
    steps: 4,
    seed: 5,
  };
  try {
    checkNoLeak(() => {
      if (ops.sample) {
        const a = ops.sample(model, 3, draw);
        const b = ops.sample(model, 3, draw);
        check(jsonEqual(a.samples.shape, [3, D]), `sample gives [${a.samples.shape}], expected [3, ${D}]`);
        finiteOf(a.samples, 'a sample');
        check(jsonEqual(Array.from(a.samples.dataSync()), Array.from(b.samples.dataSync())), 'samples differ for the same seed');
        tf.dispose([a.samples, a.trajectory ?? [], b.samples, b.trajectory ?? []]);
      }
      if (ops.transport) {
        const a = ops.transport(model, x, { ...draw, steps: 100 }); // bridges are stiff near their ends
        check(jsonEqual(a.samples.shape, [options.rows, D]), `transport gives [${a.samples.shape}], expected [${options.rows}, ${D}]`);
        finiteOf(a.samples, 'a transported point');
        tf.dispose([a.samples, a.trajectory ?? []]);
      }
      if (ops.logProb) {
        const r = ops.logProb(model, x, { solver: 'rk4', steps: 4, rtol: 1e-3, atol: 1e-3, seed: 0 });
        check(
          r.logp.length === options.rows && r.logp.every(Number.isFinite),
          `logProb gives ${r.logp.length} values, not ${options.rows} finite ones`,
        );
      }
      if (ops.nllBound) {
        const r = ops.nllBound(model, x, { draws: 2, seed: 3 });
        check(Number.isFinite(r.mean) && Number.isFinite(r.stderr) && r.n === options.rows, `nllBound gives ${JSON.stringify(r)}`);
      }
      if (ops.curvature) {
        const c = ops.curvature(model, { n: 3, steps: 4, seed: 1 });
        check(Number.isFinite(c) && c >= 0, `curvature is ${c}`);
      }
      if (ops.forwardTrajectories) {
        const eps = tf.ones([options.rows, D]) as tf.Tensor2D;
        const r = ops.forwardTrajectories(model, rows, 3, eps);
        check(jsonEqual(r.paths.shape, [3, options.rows, D]), `forward paths are [${r.paths.shape}], expected [3, ${options.rows}, ${D}]`);
        check(r.times.length === 3 && r.times[2] === 1, `forward path times ${r.times} do not end at t = 1`);
        finiteOf(r.paths, 'a forward path');
        tf.dispose([eps, r.paths]);
      }
      if (ops.ownSampler) {
        const s = ops.ownSampler(model, draw.mode);
        check(s.label.length > 0 && Number.isInteger(s.steps), `ownSampler gives ${JSON.stringify(s)}`);
      }
    });
  } finally {
    tf.dispose([rows, x]);
  }
}

function taskCheck<M, C extends { format: string; dim: number }>(
  family: FamilyDescriptor<M, C>,
  options: FamilyContractOptions<C>,
  objective: Objective,
): ContractCheck {
  return {
    name: `${family.id}: training task under '${objective.kind}' (finite loss and gradients, declared held-out metrics)`,
    run: () =>
      withModel(family, options.config, (model) => {
        const task = family.trainingTask(model, objective);
        const cols = options.data.length / options.rows;
        check(task.dataDim === cols, `task.dataDim ${task.dataDim} ≠ data columns ${cols} (${task.dataRow})`);
        const variables = [...(model as { parameters(): Map<string, tf.Variable> }).parameters().values()];
        const x = tf.tensor2d(options.data, [options.rows, cols]);
        try {
          checkNoLeak(() => {
            const r = tf.tidy(() => {
              const { value, grads } = task.lossAndGrads(x, new Rng(7), variables, 0);
              const loss = value.dataSync()[0];
              let matched = 0;
              for (const v of variables) {
                const g = grads[v.name];
                if (!g) continue;
                matched++;
                check(jsonEqual(g.shape, v.shape), `gradient of ${v.name} has shape [${g.shape}], the parameter [${v.shape}]`);
                check((g.dataSync() as Float32Array).every(Number.isFinite), `gradient of ${v.name} is not finite`);
              }
              return { loss, matched };
            });
            check(Number.isFinite(r.loss), `loss is ${r.loss}`);
            check(r.matched > 0, 'no gradient matches a model parameter by name');
          });
          const a = task.heldOut(x, 2, 11);
          const b = task.heldOut(x, 2, 11);
          const expected = task.heldOutMetrics.flatMap((m) => (m.stderrKey ? [m.key, m.stderrKey] : [m.key])).sort();
          check(jsonEqual(Object.keys(a).sort(), expected), `heldOut reports [${Object.keys(a).sort()}], the task declares [${expected}]`);
          for (const [k, v] of Object.entries(a)) check(Number.isFinite(v), `held-out ${k} is ${v}`);
          check(jsonEqual(a, b), 'held-out metrics differ for the same seed');
          if (family.heldOutMetrics)
            check(
              jsonEqual(family.heldOutMetrics(objective), task.heldOutMetrics),
              "the descriptor's heldOutMetrics differ from the task's",
            );
        } finally {
          x.dispose();
        }
      }),
  };
}
