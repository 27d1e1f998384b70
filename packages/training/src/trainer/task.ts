/**
 * Training tasks: what one update of a model computes, so that one {@link Trainer} (optimizer,
 * clipping, EMA, checkpoints, exact resume) trains every family. The tasks belong to the
 * families (`@nfdm/models` families/, see each descriptor's `trainingTask`):
 *
 * | family    | data row                         | loss of one update                                   | held-out metrics |
 * |-----------|----------------------------------|------------------------------------------------------|------------------|
 * | diffusion | x [D]                            | NELBO diffusion term, or NFDM-OT (objective `ot`)   | nelbo (or ot_loss) ± stderr |
 * | bridge    | [x0 (target) | x1 (source)] [2D] | bridge loss + path penalties (docs/maths/bridges.md) | bridge_bound ± stderr (−log p(x0 | x1) bound), bridge_penalty |
 * | diffflow  | x [D]                            | path KL on a (flexible, progressive) grid, gradient by the memory-saving walk | nll_bound ± stderr |
 * | cfm       | x [D], or [x | ε] [2D] (reflow)  | flow matching mean((v_θ(x_t, t) − u_t)²), coupled per batch (docs/maths/flow-matching.md) | cfm_loss ± stderr |
 *
 * Each update draws its noise from the trainer's noise generator, so a resumed run repeats an
 * uninterrupted one exactly.
 */
import { type AnyModel, checkObjective, familyOf, type TrainingTask } from '@nfdm/models';
import type { TrainerObjective } from './config.js';

export { splitPairs, type TrainingTask } from '@nfdm/models';

/** The task of a model under `objective` (its family's task; a RangeError if the family does not train with it). */
export function trainingTask(model: AnyModel, objective: TrainerObjective = { kind: 'nelbo' }): TrainingTask {
  const family = familyOf(model);
  checkObjective(family, objective);
  return family.trainingTask(model, objective);
}
