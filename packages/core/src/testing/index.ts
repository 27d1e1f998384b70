/**
 * `@nfdm/core/testing`: the solver contract, published so downstream solvers (your own
 * tableau as a {@link RungeKutta}, or an SDE scheme) pass the same checks as the built-in ones
 * (see docs/architecture.md#extension-points).
 *
 * Framework-agnostic: a contract is a list of {@link ContractCheck}s that throw a
 * {@link ContractViolation}; register them with any runner
 * (`for (const c of odeSolverChecks('dopri5')) it(c.name, c.run)`) or run them with
 * {@link runChecks}. The generic assertion helpers are shared with `@nfdm/models/testing`.
 */
export {
  type ContractCheck,
  ContractViolation,
  check,
  checkClose,
  checkNoLeak,
  jsonEqual,
  maxAbs,
  maxAbsDiff,
  runChecks,
} from './checks.js';
export { odeSolverChecks, sdeSolverChecks } from './solver-contract.js';
