/** What every route plugin is registered with, and the model lookup they share. */
import type { Compute } from '../compute.js';
import { HttpError } from '../errors.js';
import type { LoadedModel } from '../models.js';
import type { buildSchemas } from '../schemas.js';
import type { ServeState } from '../state.js';

/** The options of every route plugin. */
export interface RouteContext {
  state: ServeState;
  compute: Compute;
  schemas: ReturnType<typeof buildSchemas>;
}

export interface NameParams {
  name: string;
}

/** The model named `name`: 404 when none is loaded (503 while shutting down). */
export function lookup(state: ServeState, name: string): LoadedModel {
  const entry = state.models.get(name);
  if (!entry && state.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
  if (!entry) throw new HttpError(404, 'MODEL_NOT_FOUND', `no model named '${name}' is loaded (see GET /v1/models)`);
  return entry;
}

/** `steps` of a request, or the default (100, at most maxSteps). */
export function stepsOf(body: { steps?: number }, state: ServeState): number {
  return body.steps ?? Math.min(100, state.limits.maxSteps);
}
