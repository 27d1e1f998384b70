/**
 * Maths on batched tensors: Gaussian log-densities, divergence of vector fields (exact and
 * Hutchinson) and log-density integration along an ODE.
 */
export {
  type DivergenceMethod,
  type DivergenceOptions,
  type DivergenceResult,
  divergence,
  makeProbe,
  type ProbeKind,
} from './divergence.js';
export { cholesky, mvnLogProb, normalLogProb, standardNormalLogProb, sumEvent } from './gaussian.js';
export {
  type LogDensityOptions,
  type LogDensityResult,
  logDensityODE,
  logDensityODEAsync,
  type Prior,
} from './logdensity.js';
