/**
 * `@nfdm/models/testing`: the library's contracts, published so downstream packages run the
 * same checks on their own implementations (see docs/architecture.md#extension-points).
 *
 * Framework-agnostic: a contract is a list of {@link ContractCheck}s that throw a
 * {@link ContractViolation}; register them with any runner
 * (`for (const c of forwardProcessChecks(make, { dim })) it(c.name, c.run)`) or run them
 * directly with {@link runChecks}. The generic helpers are `@nfdm/core/testing`'s.
 */
export {
  type ContractCheck,
  ContractViolation,
  check,
  checkClose,
  checkNoLeak,
  jsonEqual,
  maxAbs,
  runChecks,
} from '@nfdm/core/testing';
export { type FamilyContractOptions, familyChecks } from './family.js';
export { type ForwardProcessContractOptions, forwardProcessChecks } from './forward-process.js';
export { GaussianFit, type GaussianFitConfig, gaussianFitFamily } from './gaussian-fit.js';
