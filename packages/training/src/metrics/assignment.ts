/**
 * Linear assignment (LAPJV) lives in the tensor-free `@nfdm/numerics` (the flow-matching family of
 * `@nfdm/models` couples its batches with it); `@nfdm/core` and this module re-export it.
 */
export {
  type AssignmentResult,
  assignmentGap,
  type CostMatrix,
  type LapjvOptions,
  lapjv,
  linearSumAssignment,
  toCostMatrix,
} from '@nfdm/core';
