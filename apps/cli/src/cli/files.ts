/**
 * Output files: extension checks, no silent overwrites, folders created without spinning,
 * atomic writes whose failures read as sentences, samples and trajectories on disk.
 */
import { closeSync, mkdirSync, openSync, rmSync, type Stats, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { writeFileAtomic } from '@nfdm/core';
import { type DataMatrix, writeCsv, writeNpy } from '@nfdm/datasets';
import { CliError, UsageError } from './errors.js';
import { fsError, isErrnoError } from './fs-errors.js';
import { jsonReplacer } from './output.js';

/** The lower-case extension of `path` (without the dot) if it is one of `allowed`, else a usage error. */
export function outputFormat<T extends string>(path: string, allowed: readonly T[], flag = '--out'): T {
  const ext = extname(path).slice(1).toLowerCase();
  if (!(allowed as readonly string[]).includes(ext)) {
    throw new UsageError(`${flag} ${path}: the file name must end in ${allowed.map((a) => `.${a}`).join(', ')} (that picks the format)`);
  }
  return ext as T;
}

/** stat, or undefined when nothing is there (a missing entry, or a file where a folder was expected). */
function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (isErrnoError(error) && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return undefined;
    throw fsError(error, 'look at', path);
  }
}

/**
 * Create folder `dir` and its missing parents, one mkdir per missing path component (so at
 * most as many system calls as the path has parts). Node's `mkdirSync(…, { recursive: true })`
 * spins forever where mkdir answers ENOENT under an existing parent (e.g. `/proc/x`); this
 * never loops. Errors are one sentence, prefixed with `context` (e.g. `--out runs/x`).
 */
export function ensureDir(dir: string, context?: string): void {
  const prefix = context ? `${context}: ` : '';
  const missing: string[] = [];
  for (let cur = dir; ; ) {
    const st = statIfAny(cur);
    if (st) {
      if (!st.isDirectory()) throw new CliError(`${prefix}${cur} is a file, not a folder`);
      break;
    }
    missing.unshift(cur);
    const parent = dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      if (isErrnoError(error) && error.code === 'EEXIST' && statIfAny(d)?.isDirectory()) continue;
      if (isErrnoError(error) && error.code === 'ENOENT' && statIfAny(dirname(d))?.isDirectory()) {
        throw new CliError(`${prefix}cannot create folder ${d}: ${dirname(d)} does not accept new folders`);
      }
      const mapped = fsError(error, 'create folder', d, dirname(d));
      throw mapped instanceof CliError ? new CliError(`${prefix}${mapped.message}`) : mapped;
    }
  }
}

/**
 * Check before any long work that a file can be created in `dir` (a probe file is created and
 * removed): a read-only folder fails here, naming the folder, not hours later on a temp file.
 */
export function checkWritableFolder(dir: string, file: string, context?: string): void {
  const probe = join(dir, `.nfdm-write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (error) {
    if (isErrnoError(error) && error.code === 'EEXIST') return;
    const mapped = fsError(error, 'write', file, dir);
    throw mapped instanceof CliError && context ? new CliError(`${context}: ${mapped.message}`) : mapped;
  }
  rmSync(probe, { force: true });
}

/**
 * Refuse to replace an existing file unless `force`; create the parent folder and check that
 * it takes new files.
 */
export function prepareOutputFile(path: string, force: boolean | undefined, flag = '--out'): void {
  const st = statIfAny(path);
  if (st) {
    if (st.isDirectory()) throw new CliError(`${flag} ${path} is a directory; give a file name`);
    if (!force) throw new CliError(`${path} already exists; pass --force to overwrite it`);
  }
  ensureDir(dirname(path), `${flag} ${path}`);
  checkWritableFolder(dirname(path), path);
}

/** Run `write` (which writes `path`), turning file-system errors into "cannot write PATH: why". */
export function writingFile<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw fsError(error, 'write', path);
  }
}

/** Write bytes atomically (temporary file, fsync, rename); errors name `path` and its folder. */
export function writeBytes(path: string, bytes: Uint8Array): void {
  writingFile(path, () => writeFileAtomic(path, bytes));
}

export function writeText(path: string, text: string): void {
  writeBytes(path, new TextEncoder().encode(text));
}

export function writeJson(path: string, value: unknown): void {
  writeText(path, `${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** Column names: the data's own (a CSV header stored with the model), else x0 … x(D−1). */
export function columnNames(dim: number, names?: readonly string[]): string[] {
  if (names && names.length === dim) return [...names];
  return Array.from({ length: dim }, (_, j) => `x${j}`);
}

/** Nested rows of a row-major matrix. */
export function rowsOf(data: ArrayLike<number>, n: number, dim: number): number[][] {
  const out: number[][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Array.from({ length: dim }, (_, j) => data[i * dim + j]);
  return out;
}

/**
 * Samples [n, D] as CSV (header: the data's column names, else x0,x1,…), NPY (float32) or JSON
 * ({ n, dim, columns, samples, …meta }). Only NPY (NaN) and JSON (null) can hold non-finite rows.
 */
export function writeSamples(
  path: string,
  format: 'csv' | 'npy' | 'json',
  m: DataMatrix,
  meta: Record<string, unknown>,
  names?: readonly string[],
): void {
  const columns = columnNames(m.dim, names);
  if (format === 'csv') writingFile(path, () => writeCsv(path, m, { header: columns }));
  else if (format === 'npy' && m.data.every(Number.isFinite)) writingFile(path, () => writeNpy(path, m));
  // NaN rows (sample --keep-nonfinite): the datasets writer refuses them; numpy reads NaN fine.
  else if (format === 'npy') writeBytes(path, encodeNpyArray(Float32Array.from(m.data), [m.n, m.dim]));
  else writeJson(path, { format: 'nfdm-samples/1', n: m.n, dim: m.dim, columns, ...meta, samples: rowsOf(m.data, m.n, m.dim) });
}

/** A version-1.0 .npy file of float32 values with any shape (C order). */
export function encodeNpyArray(data: Float32Array, shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + 4 * data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  for (let i = 0; i < data.length; i++) view.setFloat32(start + 4 * i, data[i], true);
  return out;
}

/**
 * Trajectories [T, n, D] with their T times: NPY holds the [T, n, D] array (times in a
 * `<name>.times.npy` sibling), CSV is long format (t, particle, x0, …), JSON nests
 * [T][n][D] next to `times`.
 */
export function writeTrajectories(
  path: string,
  format: 'csv' | 'npy' | 'json',
  traj: Float32Array,
  times: number[],
  n: number,
  dim: number,
  meta: Record<string, unknown>,
  names?: readonly string[],
): string[] {
  const T = times.length;
  if (format === 'npy') {
    writeBytes(path, encodeNpyArray(traj, [T, n, dim]));
    const timesPath = path.replace(/\.npy$/i, '.times.npy');
    writeBytes(timesPath, encodeNpyArray(Float32Array.from(times), [T]));
    return [path, timesPath];
  }
  if (format === 'csv') {
    const lines = [['t', 'particle', ...columnNames(dim, names)].join(',')];
    for (let k = 0; k < T; k++) {
      for (let i = 0; i < n; i++) {
        const o = (k * n + i) * dim;
        const row = [String(times[k]), String(i)];
        for (let j = 0; j < dim; j++) row.push(String(traj[o + j]));
        lines.push(row.join(','));
      }
    }
    writeText(path, `${lines.join('\n')}\n`);
    return [path];
  }
  const nested = Array.from({ length: T }, (_, k) => rowsOf(traj.subarray(k * n * dim, (k + 1) * n * dim), n, dim));
  writeJson(path, {
    format: 'nfdm-trajectories/1',
    shape: [T, n, dim],
    columns: columnNames(dim, names),
    ...meta,
    times,
    trajectories: nested,
  });
  return [path];
}
