/** Linear assignment (LAPJV, float64) lives in the tfjs-free `@nfdm/numerics`; `@nfdm/core` re-exports it. */
export {
  type AssignmentResult,
  assignmentGap,
  type CostMatrix,
  type LapjvOptions,
  lapjv,
  linearSumAssignment,
  toCostMatrix,
} from '@nfdm/numerics';
