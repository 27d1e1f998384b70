/**
 * Shutdown: fastify stops accepting and waits for in-flight requests before onClose; then the
 * pool drains and the onnxruntime sessions are released.
 *
 * Connections that never send a request (e.g. a client's pre-connected spare socket) are
 * neither idle nor active for Node, and would hold close() until a socket timeout: once no
 * request has been in flight for two checks in a row, drop whatever connections are left.
 */
import type { FastifyInstance } from 'fastify';
import type { Compute } from './compute.js';
import { disposeModels, type LoadedModel } from './models.js';
import type { ServeState } from './state.js';

export function installShutdown(app: FastifyInstance, state: ServeState, models: Map<string, LoadedModel>, compute: Compute): void {
  let reaper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    state.closing = true;
    state.admission.releaseHeld();
    let quiet = 0;
    reaper = setInterval(() => {
      quiet = state.metrics.inFlight.get() === 0 ? quiet + 1 : 0;
      if (quiet >= 2) app.server.closeAllConnections();
    }, 100);
    reaper.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(reaper);
    state.closing = true;
    await state.pool.idle();
    await disposeModels(models);
    compute.flush();
  });
}
