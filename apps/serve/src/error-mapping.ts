/**
 * Errors → the one JSON error body (`{ error, message, statusCode, code }`): HttpErrors as they
 * are, ajv validation errors as one clear sentence, the runtime's condition errors as 400, its model and solver errors as 422,
 * fastify's 4xx as they are; anything else is an internal error (undefined here).
 */
import { OnnxConditionError, OnnxRuntimeError, OnnxSolveError } from '@nfdm/runtime';
import type { FastifyError } from 'fastify';
import { type ErrorBody, HttpError, reason } from './errors.js';

const LIMIT_HINTS: Record<string, string> = {
  '/n': 'maxN',
  '/steps': 'maxSteps',
  '/points': 'maxPoints',
  '/sources': 'maxN',
};

function pathText(context: string, instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  let out = context;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  return out;
}

/** One clear sentence from ajv's first error. */
export function validationMessage(error: FastifyError): string {
  const v = error.validation?.[0];
  if (!v) return error.message;
  const context = error.validationContext ?? 'body';
  const where = pathText(context, v.instancePath);
  const params = v.params as Record<string, unknown>;
  switch (v.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown property '${String(params.additionalProperty)}'`;
    case 'required':
      return `${where} must have the property '${String(params.missingProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).map((x) => `'${String(x)}'`).join(', ')}`;
    case 'pattern':
      if (context === 'params' && v.instancePath === '/name')
        return 'model names may only contain letters, digits, ".", "_" and "-" (1–100 characters)';
      return `${where} ${v.message}`;
    case 'maximum':
    case 'maxItems': {
      const hint = LIMIT_HINTS[v.instancePath];
      return `${where} ${v.message}${hint ? ` (this server's ${hint} limit)` : ''}`;
    }
    case 'type':
      if (v.message === 'must be number' || v.message === 'must be integer')
        return `${where} ${v.message} (finite JSON numbers only; strings such as "NaN" are not numbers)`;
      return `${where} ${v.message}`;
    default:
      return `${where} ${v.message}`;
  }
}

/** The message of a 422 for a solve that failed part-way (diverged, or the adaptive solve gave up). */
export function solveFailureMessage(error: OnnxSolveError): string {
  if (error.code === 'non_finite_state') {
    return `the solve diverged: ${error.message} (inputs far outside the model's data range can do this; try points closer to the data or more steps)`;
  }
  return `the adaptive log-density solve failed: ${error.message} (pass 'steps' for a fixed-step solve)`;
}

/** The body of the response to `error`, or undefined for an internal error (500, to be logged). */
export function errorBody(error: FastifyError, bodyLimit: number): ErrorBody | undefined {
  if (error instanceof HttpError) return error.toBody();
  if (error.validation) return { error: reason(400), message: validationMessage(error), statusCode: 400, code: 'FST_ERR_VALIDATION' };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const message = `the request body exceeds this server's ${bodyLimit}-byte limit (bodyLimit)`;
    return { error: reason(413), message, statusCode: 413, code: error.code };
  }
  // Requests' conditions are checked before the solve (conditions.ts); this keeps any other a 400, not a 500.
  if (error instanceof OnnxConditionError)
    return { error: reason(400), message: error.message, statusCode: 400, code: 'INVALID_CONDITION' };
  if (error instanceof OnnxRuntimeError) return { error: reason(422), message: error.message, statusCode: 422, code: 'MODEL_ERROR' };
  if (error instanceof OnnxSolveError)
    return { error: reason(422), message: solveFailureMessage(error), statusCode: 422, code: 'SOLVER_FAILED' };
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { error: reason(error.statusCode), message: error.message, statusCode: error.statusCode, code: error.code ?? 'BAD_REQUEST' };
  }
  return undefined;
}

/** The 405 (a known path with another method, `allowed` non-empty) or 404 body of an unrouted request. */
export function notFoundBody(method: string, path: string, allowed: readonly string[]): ErrorBody {
  if (allowed.length > 0) {
    const message = `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`;
    return { error: reason(405), message, statusCode: 405, code: 'METHOD_NOT_ALLOWED' };
  }
  return { error: reason(404), message: `no route ${method} ${path}`, statusCode: 404, code: 'ROUTE_NOT_FOUND' };
}
