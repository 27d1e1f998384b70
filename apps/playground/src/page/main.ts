/**
 * The playground page: load an exported model (the server's list or dropped files) into
 * `@nfdm/runtime/web` and sample, animate trajectories, draw densities, transport bridges and
 * draw image grids — all in this page, on onnxruntime-web's wasm backend. `?threads=4` asks for
 * 4 wasm threads (needs cross-origin isolation, which `nfdm serve` provides).
 *
 * State for tests and the console: `window.nfdmPlayground` ({@link PlaygroundHandle});
 * `document.body.dataset.state` is 'loading' | 'ready' | 'running' | 'error'.
 */
import {
  canTransport,
  configureWasm,
  type ExportedModel,
  hasLogProb,
  loadExportedModel,
  Rng,
  samplesOnGrid,
  type Trajectory,
} from '@nfdm/runtime/web';
import { FieldError, markInvalid, readSettings, type Settings, showFeatures, syncNfe, syncSolvers } from './controls.js';
import { drawGrid, stripRows } from './images.js';
import { animate, COLORS, HEAT_RANGE, Plot, windowOf } from './plot.js';
import { fetchModel, type ModelFiles, readDropped, servedModels } from './sources.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the last action produced (read by the browser tests). */
export interface LastResult {
  action: string;
  settings: Settings;
  samples?: Float32Array;
  sources?: Float32Array;
  trajectory?: Trajectory;
  logp?: Float64Array;
  /** Density: the grid points (row-major pairs) of `logp`. */
  points?: Float32Array;
  ms: number;
}

/** `window.nfdmPlayground`. */
export interface PlaygroundHandle {
  model: ExportedModel | null;
  modelName: string | null;
  threads: number;
  crossOriginIsolated: boolean;
  last: LastResult | null;
  /** Load a served model by name (as choosing it in the list does). */
  loadServed(name: string): Promise<void>;
}

const params = new URLSearchParams(location.search);
const threads = Math.max(1, Math.floor(Number(params.get('threads') ?? 1)) || 1);
configureWasm({ wasmPaths: new URL('ort/', location.href).href, numThreads: crossOriginIsolated ? threads : 1 });
const backend = `wasm · ${crossOriginIsolated ? threads : 1} thread${(crossOriginIsolated ? threads : 1) > 1 ? 's' : ''}`;
$('backend').textContent = `Backend: onnxruntime-web ${backend}${crossOriginIsolated ? '' : ' (no cross-origin isolation: 1 thread)'}`;

const plot = new Plot($<HTMLCanvasElement>('plot'));
const handle: PlaygroundHandle = {
  model: null,
  modelName: null,
  threads: crossOriginIsolated ? threads : 1,
  crossOriginIsolated,
  last: null,
  loadServed: async (name) => load(() => fetchModel(name)),
};
(window as unknown as { nfdmPlayground: PlaygroundHandle }).nfdmPlayground = handle;

function setState(state: 'loading' | 'ready' | 'running' | 'error', message: string): void {
  document.body.dataset.state = state;
  const status = $('status');
  status.textContent = message;
  // errors are announced at once (and styled: body[data-state='error'] #status)
  status.setAttribute('aria-live', state === 'error' ? 'assertive' : 'polite');
  for (const b of document.querySelectorAll<HTMLButtonElement>('#controls button')) b.disabled = state === 'running' || state === 'loading';
  // no other model while an action runs on this one
  for (const id of ['model', 'files']) $<HTMLInputElement>(id).disabled = state === 'running';
}

/** Run one action with the status line, the error state and a timings row. */
async function run(action: string, body: (s: Settings) => Promise<Cost>): Promise<void> {
  let settings: Settings;
  try {
    settings = readSettings();
    markInvalid(null);
  } catch (error) {
    setState('error', (error as Error).message);
    if (error instanceof FieldError) markInvalid(error);
    return;
  }
  setState('running', `${action}…`);
  try {
    const cost = await body(settings);
    if (handle.last) handle.last.ms = cost.ms;
    addTiming(action, cost);
    setState(
      'ready',
      `${action}: ${cost.n} points, ${cost.steps} steps in ${cost.ms.toFixed(0)} ms (${(cost.ms / cost.steps).toFixed(1)} ms/step, ${backend})`,
    );
  } catch (error) {
    setState('error', `${action}: ${(error as Error).message}`);
  }
}

/** What an action computed, and how long the computation took (drawing and animation excluded). */
interface Cost {
  n: number;
  steps: number;
  nfe: number;
  ms: number;
}

function addTiming(action: string, cost: Cost): void {
  const row = document.createElement('tr');
  for (const v of [action, cost.n, cost.steps, cost.nfe, cost.ms.toFixed(1), (cost.ms / cost.steps).toFixed(2), backend]) {
    const cell = document.createElement('td');
    cell.textContent = String(v);
    row.append(cell);
  }
  $('timings').querySelector('tbody')?.prepend(row);
}

/** The condition and guidance options of a conditional model (none otherwise). */
function conditionOptions(model: ExportedModel, s: Settings): { condition?: number | number[]; guidance?: number } {
  if (!model.condition) return {};
  const values = s.condition.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v))) throw new Error('condition must be a number (a label) or comma-separated numbers');
  return { condition: model.condition.kind === 'label' ? values[0] : values, guidance: s.guidance };
}

const isImage = () => handle.model?.image !== undefined;

/** What the colours of the 2-D view mean for this kind of picture. */
function legend(kind: 'samples' | 'bridge' | 'forward' | 'density'): void {
  const text = {
    samples: 'grey: z(1) from the prior · blue: samples (t = t₀) · lines: the solver’s paths',
    bridge: 'green: sources (t = 1) · orange: transported targets (t = 0) · red circle: the obstacle the bridge was trained around',
    forward: 'blue: samples standing in for data (t = t₀) · orange: z_t of the forward process, moving to t = 1',
    density: 'blue dots: samples',
  }[kind];
  const heat = `log p(x): white (${HEAT_RANGE} nats or more below the highest) to orange (the highest)`;
  $('legend').textContent = kind === 'density' || plot.showsHeat ? `${heat} · ${text}` : text;
}

/** The 2-D scene of the last result: samples (or sources → targets) and the bridge's obstacle. */
function drawScene(upTo?: number): void {
  const last = handle.last;
  plot.clear();
  const model = handle.model;
  if (model && canTransport(model)) {
    for (const p of model.metadata.penalties ?? []) {
      const c = p.center as number[] | undefined;
      if (p.kind === 'obstacle' && c && c.length === 2) plot.circle(c[0], c[1], Number(p.radius), COLORS.obstacle);
    }
  }
  if (!last) return;
  legend(last.sources ? 'bridge' : 'samples');
  const tr = last.trajectory;
  if (tr && upTo !== undefined) {
    const n = last.settings.n;
    plot.paths(tr.states, n, upTo, COLORS.path);
    plot.points(tr.states.subarray(0, n * 2), last.sources ? COLORS.sources : COLORS.prior, 1.2);
    plot.points(tr.states.subarray(upTo * n * 2, (upTo + 1) * n * 2), last.sources ? COLORS.targets : COLORS.samples);
    return;
  }
  if (last.sources) plot.points(last.sources, COLORS.sources, 1.2);
  if (last.samples) plot.points(last.samples, last.sources ? COLORS.targets : COLORS.samples);
}

/** Bridge sources: x = c + spread · ε, ε from `new Rng(seed + 1_000_003)` (n × 2). */
export function bridgeSources(s: Settings): Float32Array {
  const eps = new Rng(s.seed + 1_000_003).normalArray(s.n * 2);
  return Float32Array.from(eps, (e, i) => (i % 2 === 0 ? s.source.x : s.source.y) + s.source.spread * e);
}

async function sample(withTrajectory: boolean, s: Settings): Promise<Cost> {
  const model = handle.model;
  if (!model) throw new Error('load a model first');
  const cost = { n: s.n, steps: s.steps, nfe: 0, ms: 0 };
  const t0 = performance.now();
  let samples: Float32Array;
  let trajectory: Trajectory | undefined;
  let sources: Float32Array | undefined;
  const solve = { steps: s.steps, mode: s.mode, solver: s.solver as 'euler', seed: s.seed, ...conditionOptions(model, s) };
  if (canTransport(model)) {
    sources = bridgeSources(s);
    const out = await model.transport(sources, { ...solve, trajectory: true });
    ({ samples, trajectory } = out);
    cost.nfe = out.stats.nfe;
  } else if (samplesOnGrid(model)) {
    const out = await model.sample({ n: s.n, mode: s.mode, seed: s.seed });
    samples = out.samples;
    cost.steps = model.steps;
    cost.nfe = 2 * model.steps;
  } else {
    const out = await model.sample({ n: s.n, ...solve, trajectory: withTrajectory });
    ({ samples, trajectory } = out);
    cost.nfe = out.stats.nfe;
  }
  cost.ms = performance.now() - t0;
  handle.last = { action: withTrajectory ? 'trajectories' : 'sample', settings: s, samples, sources, trajectory, ms: cost.ms };
  if (isImage()) {
    const image = model.image as NonNullable<ExportedModel['image']>;
    drawGrid($<HTMLCanvasElement>('grid-canvas'), samples, Math.min(s.n, 64), image);
    if (trajectory) {
      const strip = stripRows(trajectory, s.n, model.dim, 4, Math.min(8, trajectory.times.length));
      drawGrid($<HTMLCanvasElement>('strip'), strip.data, strip.count, image, Math.min(8, trajectory.times.length));
    }
    return cost;
  }
  plot.window = windowOf(sources ? Float32Array.of(...sources, ...samples) : samples);
  if (withTrajectory && trajectory) {
    const frames = trajectory.times.length;
    await animate(frames, (k) => drawScene(k));
  } else drawScene();
  return cost;
}

async function forward(s: Settings): Promise<Cost> {
  const model = handle.model;
  if (!model || !('forwardTrajectory' in model)) throw new Error('this model has no forward process graph');
  // The learned forward paths start from data: the model's own samples stand in for it.
  const base =
    handle.last?.samples && handle.last.action !== 'forward'
      ? handle.last.samples
      : (await model.sample({ n: s.n, steps: s.steps, mode: s.mode, solver: s.solver as 'euler', seed: s.seed })).samples;
  const times = 41;
  const t0 = performance.now();
  const trajectory = await model.forwardTrajectory(base, { times, seed: s.seed });
  const ms = performance.now() - t0;
  handle.last = { action: 'forward', settings: s, samples: trajectory.states.subarray((times - 1) * base.length), trajectory, ms };
  plot.window = windowOf(Float32Array.of(...base, ...trajectory.states.subarray((times - 1) * base.length)));
  legend('forward');
  await animate(times, (k) => {
    plot.clear();
    const n = base.length / 2;
    plot.paths(trajectory.states, n, k, COLORS.path);
    plot.points(base, COLORS.samples, 1.2);
    plot.points(trajectory.states.subarray(k * n * 2, (k + 1) * n * 2), COLORS.targets);
  });
  return { n: base.length / 2, steps: times, nfe: times, ms };
}

async function density(s: Settings): Promise<Cost> {
  const model = handle.model;
  if (!model || !hasLogProb(model)) throw new Error('this model has no log-density graph (velocity_divergence)');
  if (!handle.last?.samples) await sample(false, s);
  const G = s.grid;
  const points = plot.gridPoints(G);
  const steps = Math.min(s.steps, 20);
  const t0 = performance.now();
  const out = await model.logProb(points, { steps, solver: 'rk4' });
  const ms = performance.now() - t0;
  plot.heat(out.logp, G);
  legend('density');
  if (handle.last?.samples) plot.points(handle.last.samples.subarray(0, 2 * 2000), COLORS.samples, 1.2);
  handle.last = { ...(handle.last as LastResult), action: 'density', logp: out.logp, points };
  return { n: G * G, steps, nfe: out.stats.nfe, ms };
}

/** Counts load requests: only the latest one's model is kept (choosing models quickly, e.g. with the arrow keys). */
let loads = 0;

async function load(read: () => Promise<ModelFiles>): Promise<void> {
  const request = ++loads;
  setState('loading', 'Loading the model…');
  try {
    const files = await read();
    const t0 = performance.now();
    const model = await loadExportedModel({ graphs: files.graphs }, { graphs: Object.keys(files.graphs) as never });
    if (request !== loads) {
      await model.dispose();
      return;
    }
    await handle.model?.dispose();
    handle.model = model;
    handle.modelName = files.name;
    handle.last = null;
    plot.forgetHeat();
    describe(model, files.name, performance.now() - t0);
    setState('ready', `Loaded ${files.name}.`);
  } catch (error) {
    if (request === loads) setState('error', `Cannot load the model: ${(error as Error).message}`);
  }
}

/** Steps a few-step model starts with. */
const FEW_STEPS = 4;

/** What the model is, in words: NFDM-OT for a few-step diffusion model (its export records the OT objective). */
/** A diffusion model with the `frozen_step` graph samples with solver 'ddim' (trajectories included). */
function offersFrozenSteps(model: ExportedModel): boolean {
  return model.family === 'diffusion' && model.has('frozen_step');
}

function modelTitle(model: ExportedModel): string {
  const kind = model.metadata.kind;
  if (!model.capabilities.fewStep) return `a ${model.family} model (${kind})`;
  return model.family === 'diffusion' ? `an NFDM-OT model (${kind}, few-step)` : `a few-step ${model.family} model (${kind})`;
}

function describe(model: ExportedModel, name: string, ms: number): void {
  const c = model.capabilities;
  const image = model.image;
  const what = canTransport(model) ? 'an NFBM bridge' : modelTitle(model);
  $('model-info').textContent =
    `${name}: ${what}, D = ${model.dim}${image ? ` (${image.height}×${image.width}×${image.channels} images)` : ''}; graphs ${model.graphs.join(', ')}; loaded in ${ms.toFixed(0)} ms.`;
  const twoD = model.dim === 2;
  showFeatures({
    condition: model.condition !== undefined,
    bridge: canTransport(model),
    forward: c.forwardTrajectories && twoD,
    density: c.logProb && twoD,
  });
  $('controls').hidden = false;
  $('images').hidden = !image;
  $('plot').hidden = !!image;
  $('legend').hidden = !!image;
  $('legend').textContent = '';
  // A few-step model (NFDM-OT) starts at 4 Heun ODE steps (8 NFE); the others at the form's default.
  const steps = $<HTMLInputElement>('steps');
  steps.value = c.fewStep ? String(FEW_STEPS) : steps.defaultValue;
  if (c.fewStep) $<HTMLSelectElement>('mode').value = 'ode';
  syncSolvers({ ode: c.sample || c.transport, sde: c.sde, ddim: offersFrozenSteps(model) });
  if (c.fewStep) {
    $<HTMLSelectElement>('solver').value = 'heun';
    syncNfe();
  }
  $<HTMLButtonElement>('sample').textContent = canTransport(model) ? 'Transport' : 'Sample';
  plot.clear();
  drawScene();
}

async function init(): Promise<void> {
  $('mode').addEventListener('change', () =>
    syncSolvers({ ode: true, sde: handle.model?.capabilities.sde ?? true, ddim: handle.model ? offersFrozenSteps(handle.model) : false }),
  );
  $('solver').addEventListener('change', syncNfe);
  $('steps').addEventListener('input', syncNfe);
  $('sample').addEventListener('click', () =>
    run(canTransport(handle.model as ExportedModel) ? 'transport' : 'sample', (s) => sample(false, s)),
  );
  $('trajectories').addEventListener('click', () => run('trajectories', (s) => sample(true, s)));
  $('forward').addEventListener('click', () => run('forward', forward));
  $('density').addEventListener('click', () => run('density', density));
  const drop = $('drop');
  const files = $<HTMLInputElement>('files');
  files.addEventListener('change', () => load(() => readDropped([...(files.files ?? [])])));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void load(() => readDropped([...(e.dataTransfer?.files ?? [])]));
  });
  const served = await servedModels();
  if (served && served.length > 0) {
    const select = $<HTMLSelectElement>('model');
    select.replaceChildren(...served.map((m) => new Option(`${m.name} (${m.family}, D = ${m.dim})`, m.name)));
    $('served-label').hidden = false;
    select.addEventListener('change', () => handle.loadServed(select.value));
    const wanted = params.get('model');
    if (wanted && served.some((m) => m.name === wanted)) select.value = wanted;
    await handle.loadServed(select.value);
  } else setState('ready', 'Drop the .onnx files of an export to start.');
}

void init();
