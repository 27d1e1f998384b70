/**
 * @nfdm/numerics — the pieces of nfdm's numerics that need no tensor engine: the seeded,
 * serialisable generator (xoshiro128**, Box–Muller normals) and the Butcher tableaux of the
 * explicit Runge–Kutta solvers, and the linear assignment solver (LAPJV). `@nfdm/core` (on tfjs) and `@nfdm/runtime` (on onnxruntime)
 * both use them, so the same seed draws the same numbers and the same tableau integrates the
 * same way in either.
 */
export {
  type AssignmentResult,
  assignmentGap,
  type CostMatrix,
  type LapjvOptions,
  lapjv,
  linearSumAssignment,
  toCostMatrix,
} from './assignment.js';
export { SeededRng } from './seeded-rng.js';
export {
  BOSH3,
  type ButcherTableau,
  DOPRI5,
  EULER,
  HEUN,
  MIDPOINT,
  RK4,
  RK4_38,
  TABLEAUX,
  TSIT5,
  validateTableau,
} from './tableaux.js';
