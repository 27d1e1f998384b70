/**
 * The browser playground (@nfdm/playground) and the files it runs:
 *
 *   GET /                                  the page
 *   GET /playground/{file}                 its script and style
 *   GET /ort/{file}                        onnxruntime-web's wasm backend (ort-wasm-simd-threaded.{mjs,wasm}, from node_modules)
 *   GET /v1/models/{name}/files            the export's graph files: [{ graph, file, bytes }]
 *   GET /v1/models/{name}/files/{graph}    one graph file (application/octet-stream)
 *
 * Every answer carries Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
 * require-corp, so the page is cross-origin isolated and onnxruntime-web may use wasm threads.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { ORT_FILES, ortDir, siteDir, siteFiles } from '@nfdm/playground';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { HttpError } from '../errors.js';
import { lookup, type NameParams, type RouteContext } from './context.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/** The cross-origin isolation headers (SharedArrayBuffer, hence wasm threads, in the page). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;

async function sendFile(reply: FastifyReply, path: string): Promise<FastifyReply> {
  const bytes = await readFile(path);
  return reply
    .headers(ISOLATION_HEADERS)
    .header('cache-control', 'no-cache')
    .type(TYPES[extname(path)] ?? 'application/octet-stream')
    .send(bytes);
}

/** Public file name → path, for the files a route may serve (nothing else is reachable). */
function fileTable(dir: string, names: readonly string[]): Map<string, string> {
  return new Map(names.map((name) => [name, join(dir, name)]));
}

export const playgroundRoutes: FastifyPluginAsync<RouteContext> = async (app, { state }) => {
  const hide = { schema: { hide: true } };
  let site: string | undefined;
  try {
    site = siteDir();
  } catch {
    site = undefined; // the playground package is not built: its routes answer 404
  }
  const pageFiles = site
    ? fileTable(
        join(site, 'playground'),
        siteFiles()
          .filter((f) => f.startsWith('playground/'))
          .map((f) => basename(f)),
      )
    : new Map();
  const ortFiles = fileTable(ortDir(), ORT_FILES);
  const notBuilt = () => new HttpError(404, 'PLAYGROUND_NOT_BUILT', 'the playground page is not built (npm run build in apps/playground)');

  app.get('/', hide, async (_request, reply) => {
    if (!site) throw notBuilt();
    return sendFile(reply, join(site, 'index.html'));
  });

  app.get<{ Params: { file: string } }>('/playground/:file', hide, async (request, reply) => {
    const path = pageFiles.get(request.params.file);
    if (!path) throw site ? new HttpError(404, 'FILE_NOT_FOUND', `no playground file '${request.params.file}'`) : notBuilt();
    return sendFile(reply, path);
  });

  app.get<{ Params: { file: string } }>('/ort/:file', hide, async (request, reply) => {
    const path = ortFiles.get(request.params.file);
    if (!path)
      throw new HttpError(404, 'FILE_NOT_FOUND', `no onnxruntime-web file '${request.params.file}' (served: ${ORT_FILES.join(', ')})`);
    return sendFile(reply, path);
  });

  app.get<{ Params: NameParams }>('/v1/models/:name/files', hide, async (request, reply) => {
    const entry = lookup(state, request.params.name);
    const files = await Promise.all(
      [...entry.files].map(async ([graph, path]) => ({ graph, file: basename(path), bytes: (await readFile(path)).length })),
    );
    return reply.headers(ISOLATION_HEADERS).send({ name: entry.name, files });
  });

  app.get<{ Params: NameParams & { graph: string } }>('/v1/models/:name/files/:graph', hide, async (request, reply) => {
    const entry = lookup(state, request.params.name);
    const path = entry.files.get(request.params.graph);
    if (!path)
      throw new HttpError(
        404,
        'GRAPH_NOT_FOUND',
        `model '${entry.name}' has no graph '${request.params.graph}' (have: ${[...entry.files.keys()].join(', ')})`,
      );
    return sendFile(reply, path);
  });
};
