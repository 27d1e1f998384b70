/**
 * ODE/SDE solvers on batched tfjs tensors, diffrax-style: terms (what), solvers (how),
 * step-size controllers (how far) and save-at (what to return), joined by {@link solve}.
 */
export {
  BrownianGrid,
  type BrownianGridOptions,
  type BrownianIncrement,
  BrownianIncrements,
  type BrownianOptions,
  type BrownianPath,
} from './brownian.js';
export {
  ConstantStepSize,
  type ConstantStepState,
  type FirstStep,
  type LiveRows,
  PIDController,
  type PIDControllerOptions,
  type PIDState,
  type StepAttempt,
  type StepDecision,
  type StepProblem,
  type StepSizeController,
  StepTo,
  type StepToState,
  withoutReads,
} from './controllers.js';
export {
  MaxStepsExceededError,
  NonFiniteStateError,
  SolverError,
  type SolverErrorCode,
  StepSizeUnderflowError,
} from './errors.js';
export { canonicalSolverName, SOLVER_ALIASES } from './names.js';
export { type OdeintOptions, odeint } from './odeint.js';
export { getSolver, type OdeSolverName, type SdeSolverName, type Solver, solverNames } from './registry.js';
export { isRungeKutta, type RKStepResult, RungeKutta } from './rk.js';
export type { SaveAt } from './saveat.js';
export { EulerMaruyama, isSdeSolver, type SdeEvalCounter, type SdeSolver, SRA1, StochasticHeun } from './sde.js';
export { type Solution, type SolveOptions, type SolveStats, solve, solveAsync } from './solve.js';
export type { StateTree } from './state.js';
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
export { type Diffusion, type NoiseType, noiseShape, ODETerm, SDETerm, type SDETermOptions, type Term, type VectorField } from './terms.js';
