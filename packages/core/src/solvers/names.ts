/**
 * Solver names: one spelling. Canonical names are lower-case snake_case (`euler_maruyama`,
 * `stochastic_heun`, `rk4_38`), the spelling of the registry, of torchdiffeq/torchsde and of
 * the names the CLI prints and stores. At the edges, any case, `-` for `_` and the aliases
 * below are accepted and mapped to the canonical name.
 */

/** Other names of registry solvers: `rk45` (scipy/score_sde) and `em`. */
export const SOLVER_ALIASES: Readonly<Record<string, string>> = { rk45: 'dopri5', em: 'euler_maruyama' };

/**
 * The canonical spelling of a solver name: trimmed, lower case, `-` → `_`, aliases resolved
 * (`'Euler-Maruyama'` → `'euler_maruyama'`, `'rk45'` → `'dopri5'`). It does not check that the
 * solver exists ({@link getSolver} does).
 */
export function canonicalSolverName(name: string): string {
  const key = name.trim().toLowerCase().replaceAll('-', '_');
  return SOLVER_ALIASES[key] ?? key;
}
