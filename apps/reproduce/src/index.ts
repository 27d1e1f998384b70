/**
 * @nfdm/reproduce: the experiment suite of the NFDM papers behind `nfdm reproduce` — the
 * budgets, the four experiments, the claims and REPORT.md — and its commander command.
 */
export * from './budgets.js';
export type { Claim, Verdict } from './claims.js';
export { REPRODUCE_DESCRIPTION, reproduceCommand } from './command.js';
export type { Machine } from './report.js';
export { MANIFEST, MANIFEST_FORMAT, REPORT, runSuite, type SuiteOptions, type SuiteOutcome } from './suite.js';
