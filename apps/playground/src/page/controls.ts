/** The sampling form: its values, the solvers of each mode, and the NFE a choice costs. */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Solvers by mode (the runtime's spelling). */
export const SOLVERS = { ode: ['euler', 'heun', 'rk4'], sde: ['euler_maruyama', 'heun'] } as const;

/** Field evaluations per step of a fixed-step solver (ODE: its stages; SDE: Euler–Maruyama 1, stochastic Heun 2). */
export function evaluationsPerStep(solver: string): number {
  if (solver === 'rk4') return 4;
  return solver === 'heun' ? 2 : 1;
}

/** What the form says. */
export interface Settings {
  n: number;
  seed: number;
  mode: 'ode' | 'sde';
  solver: string;
  steps: number;
  guidance: number;
  condition: string;
  source: { x: number; y: number; spread: number };
  grid: number;
}

function integer(id: string, min: number, max: number, what: string): number {
  const v = Number($<HTMLInputElement>(id).value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${what} must be an integer from ${min} to ${max}`);
  return v;
}

function number(id: string, what: string): number {
  const v = Number($<HTMLInputElement>(id).value);
  if (!Number.isFinite(v)) throw new Error(`${what} must be a number`);
  return v;
}

/** The form's values, checked (one clear error per bad field). */
export function readSettings(): Settings {
  return {
    n: integer('n', 1, 20000, 'n'),
    seed: integer('seed', 0, 2 ** 31 - 1, 'seed'),
    mode: $<HTMLSelectElement>('mode').value as 'ode' | 'sde',
    solver: $<HTMLSelectElement>('solver').value,
    steps: integer('steps', 1, 1000, 'steps'),
    guidance: number('guidance', 'guidance'),
    condition: $<HTMLInputElement>('condition').value,
    source: { x: number('source-x', 'source x'), y: number('source-y', 'source y'), spread: number('source-s', 'source spread') },
    grid: integer('grid', 8, 128, 'density grid'),
  };
}

/** Fill the solver list of the chosen mode (keeping the choice when it is still valid) and show the NFE. */
export function syncSolvers(modes: { ode: boolean; sde: boolean }): void {
  const modeSelect = $<HTMLSelectElement>('mode');
  for (const option of modeSelect.options) option.disabled = !modes[option.value as 'ode' | 'sde'];
  if (!modes[modeSelect.value as 'ode' | 'sde']) modeSelect.value = modes.ode ? 'ode' : 'sde';
  const mode = modeSelect.value as 'ode' | 'sde';
  const solver = $<HTMLSelectElement>('solver');
  const previous = solver.value;
  solver.replaceChildren(...SOLVERS[mode].map((s) => new Option(s.replace('_', '–'), s)));
  if ((SOLVERS[mode] as readonly string[]).includes(previous)) solver.value = previous;
  syncNfe();
}

/** The NFE read-out of the steps slider. */
export function syncNfe(): void {
  const steps = Number($<HTMLInputElement>('steps').value);
  const nfe = steps * evaluationsPerStep($<HTMLSelectElement>('solver').value);
  $<HTMLOutputElement>('nfe').value = `${steps} steps · ${nfe} NFE`;
}

/** Show the elements marked `data-needs="feature"` for the features the model has. */
export function showFeatures(features: Record<string, boolean>): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-needs]')) el.hidden = !features[el.dataset.needs ?? ''];
}
