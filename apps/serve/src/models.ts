/**
 * The model registry: every exported model of a directory, loaded once at startup into
 * onnxruntime sessions (through `@nfdm/runtime` only — no tfjs), and what each can do.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  canTransport,
  type ExportedModel,
  loadExportedModel,
  type OnnxBridgeModel,
  type OnnxModel,
  readOnnxMetadata,
  samplesOnGrid,
  samplesWithSolvers,
} from '@nfdm/runtime';
import { ServeConfigError } from './errors.js';

/** Model names: what a request may name (checked before any lookup). */
export const MODEL_NAME_PATTERN = '^[A-Za-z0-9._-]{1,100}$';
const MODEL_NAME_RE = new RegExp(MODEL_NAME_PATTERN);

/** The Runge–Kutta ODE solvers (any model with a velocity: diffusion, flow matching, bridges). */
export const ODE_SOLVERS = ['euler', 'heun', 'rk4'] as const;
/**
 * The frozen-prediction ODE steps of diffusion models (docs/maths/sampling.md#frozen-prediction-steps):
 * POST /samples in mode 'ode', with the `frozen_step` graph or the `sampler_ddim_ode` Loop graph.
 */
export const FROZEN_SOLVER = 'ddim' as const;
/** 'euler' in SDE mode is accepted as an alias of 'euler_maruyama' (as in the runtime). */
export const SDE_SOLVERS = ['euler_maruyama', 'euler', 'heun'] as const;
/** Canonical solver names (the core registry's snake_case spelling, and 'ddim'). */
export const SOLVERS = ['euler', 'heun', 'rk4', FROZEN_SOLVER, 'euler_maruyama'] as const;
export type Solver = (typeof SOLVERS)[number];
/** The solvers other than 'ddim' (every mode, every family with a solver table). */
export type RungeKuttaSolver = Exclude<Solver, typeof FROZEN_SOLVER>;
/** Other spellings a request may use, mapped to the canonical name before use. */
export const SOLVER_ALIASES: Readonly<Record<string, Solver>> = { 'euler-maruyama': 'euler_maruyama' };

/** The canonical name of a requested solver (undefined stays undefined). */
export function canonicalSolver(name: string | undefined): Solver | undefined {
  return name === undefined ? undefined : (SOLVER_ALIASES[name] ?? (name as Solver));
}
export type Mode = 'ode' | 'sde';

export function isModelName(name: string): boolean {
  return MODEL_NAME_RE.test(name);
}

/** What a loaded model supports. */
export interface ModelCapabilities {
  /**
   * Solvers usable in each mode by POST /samples (stepwise with the field graphs, or the one-call
   * Loop graphs). DiffFlow models list 'grid' (their fixed exported grid); bridges list none.
   */
  samples: { ode: string[]; sde: string[] };
  /** Log-densities need the `velocity_divergence` graph (DiffusionModel exports only). */
  logProb: boolean;
  /** Solvers usable by POST /transport (NFBM bridges only; empty otherwise). */
  transport: { ode: string[]; sde: string[] };
}

/** One model as listed by `GET /v1/models`. */
export interface ModelInfo {
  name: string;
  dim: number;
  /** nfdm | ndm | fixed or a downstream forward process's kind (diffusion models), nfbm (bridges: POST /transport), diffflow. */
  kind: string;
  /** The on-disk family name (one of EXPORT_FAMILIES of @nfdm/runtime). */
  family: ExportedModel['family'];
  forwardKind: string;
  /** Graphs loaded into onnxruntime sessions. */
  graphs: string[];
  capabilities: ModelCapabilities;
  standardized: boolean;
  priorStd: number;
  tStart: number;
  /** Version of @nfdm/export that wrote the files. */
  exportVersion: string;
  /** 'directory' (a writeOnnxExport folder) or 'file' (one .onnx file). */
  source: 'directory' | 'file';
  /** NFBM: δ (z(1) = source + δ ε). */
  delta?: number;
  /** DiffFlow: the exported sampling grid (K steps from tMin to tMax). */
  grid?: { steps: number; tMin: number; tMax: number };
  /** Image models: the NHWC image of one row (nfdm.image). */
  image?: { height: number; width: number; channels: number };
  /** Conditional models: what `condition` holds (nfdm.condition). */
  condition?: { kind: 'label'; classes: number } | { kind: 'vector'; dim: number };
}

export interface LoadedModel {
  name: string;
  model: ExportedModel;
  info: ModelInfo;
  /** Every graph file of the export (graph name → path), loaded or not: what `GET /v1/models/{name}/files` serves. */
  files: Map<string, string>;
}

/** The graph files of a model source (a writeOnnxExport directory or one .onnx file), by their metadata's graph name. */
function graphFiles(path: string, source: 'directory' | 'file'): Map<string, string> {
  const paths =
    source === 'file'
      ? [path]
      : readdirSync(path)
          .filter((f) => f.endsWith('.onnx'))
          .sort()
          .map((f) => join(path, f));
  const files = new Map<string, string>();
  for (const p of paths) {
    try {
      files.set(readOnnxMetadata(readFileSync(p)).graph, p);
    } catch {
      // not an nfdm graph: the runtime refused or skipped it already
    }
  }
  return files;
}

/** The engine that runs a (solver, mode) pair on a model, or null if it has no graph for it. */
export function sampleEngine(model: OnnxModel, solver: Solver, mode: Mode): 'stepwise' | 'loop' | null {
  if (solver === FROZEN_SOLVER) {
    if (mode !== 'ode') return null;
    if (model.has('frozen_step')) return 'stepwise';
    return model.has('sampler_ddim_ode') ? 'loop' : null;
  }
  if (mode === 'ode' ? model.has('velocity') || model.has('velocity_divergence') : model.has('drift')) return 'stepwise';
  const loopSolver = solver === 'euler_maruyama' ? 'euler' : solver;
  return model.has(`sampler_${loopSolver}_${mode}`) ? 'loop' : null;
}

/** The engine that runs a (solver, mode) transport on a bridge, or null. */
export function transportEngine(model: OnnxBridgeModel, solver: Solver, mode: Mode): 'stepwise' | 'loop' | null {
  if (model.has(mode === 'ode' ? 'bridge_velocity' : 'bridge_drift')) return 'stepwise';
  if (solver !== 'euler' && solver !== 'euler_maruyama') return null;
  return model.has(`bridge_sampler_euler_${mode}`) ? 'loop' : null;
}

const none = () => ({ ode: [] as string[], sde: [] as string[] });

/** What `model` serves, from its runtime capabilities: the solvers (or 'grid') of /samples and /transport, and /log-prob. */
export function capabilities(model: ExportedModel): ModelCapabilities {
  return { samples: sampleSolvers(model), logProb: model.capabilities.logProb, transport: transportSolvers(model) };
}

function sampleSolvers(model: ExportedModel): { ode: string[]; sde: string[] } {
  if (samplesWithSolvers(model)) {
    return {
      ode: [...ODE_SOLVERS, FROZEN_SOLVER].filter((s: Solver) => sampleEngine(model, s, 'ode') !== null),
      sde: SDE_SOLVERS.filter((s) => s !== 'euler' && sampleEngine(model, s, 'sde') !== null),
    };
  }
  if (samplesOnGrid(model)) return { ode: model.engineFor('ode') ? ['grid'] : [], sde: model.engineFor('sde') ? ['grid'] : [] };
  return none();
}

function transportSolvers(model: ExportedModel): { ode: string[]; sde: string[] } {
  if (!canTransport(model)) return none();
  return {
    ode: ODE_SOLVERS.filter((s) => transportEngine(model, s, 'ode') !== null),
    sde: SDE_SOLVERS.filter((s) => s !== 'euler' && transportEngine(model, s, 'sde') !== null),
  };
}

/** The `GET /v1/models` description of a loaded model. */
function describe(name: string, source: 'directory' | 'file', model: ExportedModel): ModelInfo {
  const m = model.metadata;
  const info: ModelInfo = {
    name,
    dim: model.dim,
    kind: m.kind,
    family: model.family,
    forwardKind: m.forwardKind,
    graphs: [...model.graphs].sort(),
    capabilities: capabilities(model),
    standardized: model.standardization !== undefined,
    priorStd: m.priorStd,
    tStart: m.tStart,
    exportVersion: m.version,
    source,
  };
  if (canTransport(model)) info.delta = model.delta;
  if (model.image) info.image = { ...model.image };
  if (model.condition) info.condition = { ...model.condition };
  if (samplesOnGrid(model)) info.grid = { steps: model.steps, tMin: model.grid[0], tMax: model.grid[model.grid.length - 1] };
  return info;
}

export interface LoadModelsOptions {
  /** onnxruntime intra-op threads per session (default 1). */
  threads?: number;
  /** Skip models that fail to load (logged) instead of failing (default false). */
  allowPartial?: boolean;
  warn?: (message: string) => void;
}

function candidates(dir: string): Array<{ name: string; path: string; source: 'directory' | 'file' }> {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ServeConfigError(`models path ${dir} is not a directory`);
    entries = readdirSync(dir).sort();
  } catch (error) {
    if (error instanceof ServeConfigError) throw error;
    throw new ServeConfigError(
      `cannot read models directory ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const out: Array<{ name: string; path: string; source: 'directory' | 'file' }> = [];
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      continue; // dangling symlink and the like
    }
    if (stat.isDirectory()) {
      let hasOnnx = false;
      try {
        hasOnnx = readdirSync(path).some((f) => f.endsWith('.onnx'));
      } catch {
        hasOnnx = false;
      }
      if (hasOnnx) out.push({ name: entry, path, source: 'directory' });
    } else if (stat.isFile() && entry.endsWith('.onnx')) {
      out.push({ name: basename(entry, '.onnx'), path, source: 'file' });
    }
  }
  return out;
}

/**
 * Load every model of `dir`: each subdirectory holding `.onnx` files (as written by
 * `writeOnnxExport`) and each `.onnx` file; the name is the subdirectory or the file stem.
 * Hidden entries are ignored, names outside [A-Za-z0-9._-] are skipped with a warning.
 */
export async function loadModels(dir: string, options: LoadModelsOptions = {}): Promise<Map<string, LoadedModel>> {
  const warn = options.warn ?? (() => {});
  const models = new Map<string, LoadedModel>();
  const failures: string[] = [];
  try {
    for (const c of candidates(dir)) {
      if (!isModelName(c.name)) {
        warn(`skipping ${c.path}: model names may only contain A-Z a-z 0-9 . _ - (max 100 characters)`);
        continue;
      }
      if (models.has(c.name)) throw new ServeConfigError(`two models are named '${c.name}' in ${dir} (a directory and a .onnx file?)`);
      let model: ExportedModel;
      try {
        model = await loadExportedModel(c.path, { intraOpNumThreads: options.threads ?? 1 });
      } catch (error) {
        const message = `cannot load model '${c.name}' from ${c.path}: ${(error as Error).message}`;
        if (!options.allowPartial) throw new ServeConfigError(message);
        warn(`skipping: ${message}`);
        failures.push(c.name);
        continue;
      }
      const info = describe(c.name, c.source, model);
      models.set(c.name, { name: c.name, model, info, files: graphFiles(c.path, c.source) });
    }
    if (models.size === 0) {
      throw new ServeConfigError(
        failures.length > 0
          ? `no model of ${dir} could be loaded (failed: ${failures.join(', ')})`
          : `no models in ${dir}: expected subdirectories written by writeOnnxExport (@nfdm/export) or .onnx files`,
      );
    }
  } catch (error) {
    await disposeModels(models);
    throw error;
  }
  return models;
}

export async function disposeModels(models: Map<string, LoadedModel>): Promise<void> {
  await Promise.allSettled([...models.values()].map((m) => m.model.dispose()));
  models.clear();
}
