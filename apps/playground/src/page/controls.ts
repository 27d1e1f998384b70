/** The sampling form: its values, the solvers of each mode, and the NFE a choice costs. */

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * Solvers by mode (the runtime's spelling). 'ddim', the frozen-prediction ODE steps, is offered
 * for diffusion models exported with the `frozen_step` graph only (see {@link syncSolvers}).
 */
export const SOLVERS = { ode: ['euler', 'heun', 'rk4', 'ddim'], sde: ['euler_maruyama', 'heun'] } as const;

/**
 * Field evaluations per step of a fixed-step solver (ODE: its stages, one predictor call per
 * 'ddim' step; SDE: Euler–Maruyama 1, stochastic Heun 2).
 */
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

/** A form field whose value is not valid: `field` is its element id. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function integer(id: string, min: number, max: number, what: string): number {
  const raw = $<HTMLInputElement>(id).value;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max)
    throw new FieldError(id, `${what} must be an integer from ${min} to ${max}`);
  return v;
}

function number(id: string, what: string): number {
  const raw = $<HTMLInputElement>(id).value;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new FieldError(id, `${what} must be a number`);
  return v;
}

/**
 * Mark the field of a {@link FieldError} invalid (aria-invalid, described by the status line) and
 * move the focus to it; `null` clears every mark.
 */
export function markInvalid(error: FieldError | null): void {
  for (const el of document.querySelectorAll<HTMLElement>('#controls [aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-errormessage');
  }
  if (!error) return;
  const el = $(error.field);
  el.setAttribute('aria-invalid', 'true');
  el.setAttribute('aria-errormessage', 'status');
  el.focus();
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

/**
 * Fill the solver list of the chosen mode (keeping the choice when it is still valid) and show the
 * NFE; `ddim`: whether the model offers the frozen-prediction steps.
 */
export function syncSolvers(modes: { ode: boolean; sde: boolean; ddim: boolean }): void {
  const modeSelect = $<HTMLSelectElement>('mode');
  for (const option of modeSelect.options) option.disabled = !modes[option.value as 'ode' | 'sde'];
  if (!modes[modeSelect.value as 'ode' | 'sde']) modeSelect.value = modes.ode ? 'ode' : 'sde';
  const mode = modeSelect.value as 'ode' | 'sde';
  const solver = $<HTMLSelectElement>('solver');
  const previous = solver.value;
  const offered = (SOLVERS[mode] as readonly string[]).filter((s) => s !== 'ddim' || modes.ddim);
  solver.replaceChildren(...offered.map((s) => new Option(s.replace('_', '–'), s)));
  if (offered.includes(previous)) solver.value = previous;
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
