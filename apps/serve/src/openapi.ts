/** The OpenAPI document's header (@fastify/swagger builds the paths from the route schemas). */
import type { SwaggerOptions } from '@fastify/swagger';
import type { ServeLimits } from './limits.js';
import { SERVE_VERSION } from './version.js';

export function openapiOptions(limits: ServeLimits): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'nfdm-serve',
        version: SERVE_VERSION,
        description:
          'Samples and log-densities of exported nfdm diffusion models (ONNX, onnxruntime-node). ' +
          `Limits: n ≤ ${limits.maxN}, steps ≤ ${limits.maxSteps}, points ≤ ${limits.maxPoints}, ` +
          `body ≤ ${limits.bodyLimit} bytes, timeout ${limits.timeoutMs} ms.`,
      },
      tags: [
        { name: 'models', description: 'Models, samples and log-densities' },
        { name: 'health', description: 'Health, readiness and metrics' },
      ],
    },
  };
}
