/**
 * File-system failures as sentences. Node's errors read `EACCES: permission denied, open
 * 'out/.s.csv.29965.k3j.tmp'`: an errno, a syscall and often the name of a temporary file the
 * user never asked for. These helpers say what could not be done to which of the user's
 * files, and why, in words — naming the folder when the folder is at fault.
 */
import { basename, dirname } from 'node:path';
import { CliError } from './errors.js';

/** A Node system error (`code`, `syscall`, maybe `path`). */
export function isErrnoError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code as string)
  );
}

/**
 * The file a temporary name stands for: `dir/.name.<pid>.<rand>.tmp` (datasets' writer),
 * `dir/name.tmp-<pid>[-<time>]` (core's and export's writers), `dir/.tmp-ckpt-<step>-…` (checkpoints).
 */
export function userPath(path: string): string {
  const dir = dirname(path);
  const name = basename(path);
  const join = (n: string) => (dir === '.' && !path.startsWith('./') ? n : `${dir}/${n}`);
  let m = /^\.(.+)\.\d+\.[0-9a-z]+\.tmp$/.exec(name);
  if (m) return join(m[1]);
  m = /^(.+)\.tmp-\d+(?:-[0-9a-z]+)?$/.exec(name);
  if (m) return join(m[1]);
  m = /^\.(?:tmp|trash)-(ckpt-\d+)(?:-.*)?$/.exec(name);
  if (m) return join(m[1]);
  return path;
}

/**
 * Why an operation on `path` failed, in words (no errno jargon). `path` is the user's file or
 * folder; `folder` the folder that receives it.
 */
export function reasonFor(error: NodeJS.ErrnoException, path: string, folder = dirname(path), writing = true): string {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return writing ? `no permission to write in folder ${folder}` : `permission denied`;
    case 'EROFS':
      return `folder ${folder} is on a read-only file system`;
    case 'ENOSPC':
      return `no space left on the device that holds ${folder}`;
    case 'EDQUOT':
      return `the disk quota for ${folder} is used up`;
    case 'EISDIR':
      return `${path} is a folder`;
    case 'ENOTDIR':
      return `a part of ${folder} is a file, not a folder`;
    case 'ENOENT':
      return `folder ${folder} does not exist (or does not accept new files)`;
    case 'EEXIST':
      return `${path} already exists`;
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'ENAMETOOLONG':
      return 'the file name is too long';
    case 'EIO':
      return `an input/output error on the device that holds ${folder}`;
    default: {
      const detail = (error.message ?? '').split(',')[0].replace(/^E[A-Z]+: /, '');
      return `${detail || 'a file-system error'} (${error.code})`;
    }
  }
}

/** A CliError "cannot <action> <path>: <reason>" for a file-system error; other errors unchanged. */
export function fsError(error: unknown, action: string, path: string, folder?: string): unknown {
  if (!isErrnoError(error)) return error;
  return new CliError(`cannot ${action} ${path}: ${reasonFor(error, path, folder)}`);
}

/**
 * The last-resort wording of a file-system error that reached `main` unwrapped: the action
 * from the syscall, the user's file instead of a temporary name.
 */
export function describeErrnoError(error: NodeJS.ErrnoException & { code: string }): string {
  const raw = error.path ?? (error as { dest?: string }).dest;
  if (raw === undefined) return reasonFor(error, '(unknown file)', '(unknown folder)');
  const path = userPath(raw);
  const writing = path !== raw || error.syscall === 'mkdir' || error.syscall === 'rename' || error.syscall === 'write';
  const action = error.syscall === 'mkdir' ? 'create folder' : writing ? 'write' : 'open';
  return `cannot ${action} ${path}: ${reasonFor(error, path, dirname(path), writing)}`;
}
