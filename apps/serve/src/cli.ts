/**
 * `nfdm-serve`: parse flags (node:util parseArgs), create the server, listen, and on SIGTERM /
 * SIGINT stop accepting, drain in-flight requests, release the onnxruntime sessions and exit 0.
 * Exit codes: 0 after a clean shutdown (or --help/--version), 1 startup or shutdown failure,
 * 2 bad flags.
 */
import { parseArgs } from 'node:util';
import { ServeConfigError } from './errors.js';
import { DEFAULT_LIMITS, type ServeLimits } from './limits.js';
import { createServer, type NfdmServer } from './server.js';
import { SERVE_VERSION } from './version.js';

export const USAGE = `Usage: nfdm-serve --models DIR [options]

Serve the exported nfdm models of DIR over HTTP (onnxruntime-node). DIR holds one
subdirectory per model as written by writeOnnxExport (@nfdm/export) and/or single .onnx
files; a model's name is its subdirectory or file stem.

Options:
  --models DIR           directory of exported models (required)
  --port P               TCP port (default 8080; 0 picks a free port)
  --host H               interface to bind (default 127.0.0.1; 0.0.0.0 for all)
  --max-n N              largest n per samples request and rows per transport request (default ${DEFAULT_LIMITS.maxN})
  --max-steps N          largest steps per request (default ${DEFAULT_LIMITS.maxSteps})
  --max-points N         largest number of points per log-prob request (default ${DEFAULT_LIMITS.maxPoints})
  --body-limit SIZE      largest request body: bytes, or with kb/mb (default 1mb)
  --timeout MS           per-request deadline in ms, or with s (default ${DEFAULT_LIMITS.timeoutMs / 1000}s)
  --max-concurrent N     model computations at once (default ${DEFAULT_LIMITS.maxConcurrent})
  --max-queue N          computations allowed to wait; beyond it 503 (default ${DEFAULT_LIMITS.maxQueue})
  --threads N            onnxruntime intra-op threads per session (default 1)
  --batch-window-ms MS   dynamic batching: merge runs of one graph arriving within MS ms into
                         one onnxruntime run (default 0 = off; raise --max-concurrent with it)
  --grace MS             shutdown drain limit before a forced exit 1 (default 30s)
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
  --allow-partial        skip models that fail to load instead of exiting
  -h, --help             show this help
  -v, --version          print the version

Routes: GET /v1/models, GET /v1/models/{name}, POST /v1/models/{name}/samples,
POST /v1/models/{name}/log-prob, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json;
the Open Inference Protocol (KServe v2): GET /v2, /v2/health/{live,ready},
GET /v2/models/{model}_{graph}[/ready], POST /v2/models/{model}_{graph}/infer.
`;

/** A bad command line (exit code 2). */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export interface CliConfig {
  modelsDir: string;
  port: number;
  host: string;
  limits: Partial<ServeLimits>;
  threads: number;
  batchWindowMs: number;
  graceMs: number;
  logLevel: string;
  allowPartial: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value)) throw new CliUsageError(`--${flag} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new CliUsageError(`--${flag} must be between ${min} and ${max}, got ${value}`);
  return n;
}

function size(flag: string, value: string): number {
  const m = /^(\d+)\s*(b|kb|k|mb|m)?$/i.exec(value.trim());
  if (!m) throw new CliUsageError(`--${flag} must be a size like 1048576, 512kb or 1mb, got '${value}'`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const bytes = Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1);
  if (bytes < 64) throw new CliUsageError(`--${flag} must be at least 64 bytes, got '${value}'`);
  return bytes;
}

function duration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(value.trim());
  if (!m) throw new CliUsageError(`--${flag} must be milliseconds (30000) or seconds (30s), got '${value}'`);
  const ms = Math.round(Number(m[1]) * ((m[2] ?? 'ms').toLowerCase() === 's' ? 1000 : 1));
  if (ms < 1) throw new CliUsageError(`--${flag} must be at least 1 ms, got '${value}'`);
  return ms;
}

/** Parse argv (without node and the script). Returns 'help' / 'version' for those flags. */
export function parseCli(argv: string[]): CliConfig | 'help' | 'version' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        models: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'max-n': { type: 'string' },
        'max-steps': { type: 'string' },
        'max-points': { type: 'string' },
        'body-limit': { type: 'string' },
        timeout: { type: 'string' },
        'max-concurrent': { type: 'string' },
        'max-queue': { type: 'string' },
        threads: { type: 'string' },
        'batch-window-ms': { type: 'string' },
        grace: { type: 'string' },
        'log-level': { type: 'string' },
        'allow-partial': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const str = (k: string) => values[k] as string | undefined;
  const modelsDir = str('models');
  if (!modelsDir) throw new CliUsageError('--models DIR is required');
  const logLevel = str('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new CliUsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const opt = <T>(k: string, parse: (flag: string, v: string) => T): T | undefined => {
    const v = str(k);
    return v === undefined ? undefined : parse(k, v);
  };
  const host = str('host') ?? '127.0.0.1';
  if (host.trim() === '') throw new CliUsageError('--host must not be empty');
  return {
    modelsDir,
    port: opt('port', (f, v) => integer(f, v, 0, 65535)) ?? 8080,
    host,
    limits: {
      maxN: opt('max-n', (f, v) => integer(f, v, 1)),
      maxSteps: opt('max-steps', (f, v) => integer(f, v, 1)),
      maxPoints: opt('max-points', (f, v) => integer(f, v, 1)),
      bodyLimit: opt('body-limit', size),
      timeoutMs: opt('timeout', duration),
      maxConcurrent: opt('max-concurrent', (f, v) => integer(f, v, 1)),
      maxQueue: opt('max-queue', (f, v) => integer(f, v, 0)),
    },
    threads: opt('threads', (f, v) => integer(f, v, 1, 256)) ?? 1,
    batchWindowMs: opt('batch-window-ms', (f, v) => integer(f, v, 0, 10_000)) ?? 0,
    graceMs: opt('grace', duration) ?? 30_000,
    logLevel,
    allowPartial: values['allow-partial'] === true,
  };
}

/**
 * Run the command. Resolves with an exit code when it ends at once (help, bad flags, startup
 * failure), or with undefined once listening; the process then exits from the signal handlers.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  let config: ReturnType<typeof parseCli>;
  try {
    config = parseCli(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`nfdm-serve: error: ${error.message}\nRun 'nfdm-serve --help' for usage.\n`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (config === 'version') {
    process.stdout.write(`${SERVE_VERSION}\n`);
    return 0;
  }
  let app: NfdmServer;
  try {
    app = await createServer({
      modelsDir: config.modelsDir,
      limits: config.limits,
      threads: config.threads,
      batchWindowMs: config.batchWindowMs,
      allowPartial: config.allowPartial,
      logger: { level: config.logLevel },
    });
  } catch (error) {
    if (!(error instanceof ServeConfigError)) throw error;
    process.stderr.write(`nfdm-serve: error: ${error.message}\n`);
    return 1;
  }
  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      app.log.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    app.log.info({ signal, inFlight: app.nfdm.metrics.inFlight.get() }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      app.log.error({ graceMs: config.graceMs }, 'shutdown grace period exceeded: exiting');
      process.exit(1);
    }, config.graceMs);
    force.unref();
    app.close().then(
      () => {
        app.log.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  try {
    const address = await app.listen({ port: config.port, host: config.host });
    app.log.info({ address, models: [...app.nfdm.models.keys()], limits: app.nfdm.limits }, 'nfdm-serve ready');
  } catch (error) {
    process.stderr.write(`nfdm-serve: error: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
    await app.close().catch(() => {});
    return 1;
  }
  return undefined;
}
