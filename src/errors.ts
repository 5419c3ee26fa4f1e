// The error taxonomy. Every error a user can see is one of these, with the subject
// in the message and, for a user error, what to do next. One place (exitCodeFor,
// httpStatusFor) maps them to process exit codes and HTTP statuses.

export type ErrorKind = 'usage' | 'user' | 'integrity' | 'conflict' | 'not-found' | 'external' | 'bug';

export class LifeboatError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LifeboatError';
  }
}

/** The command line was wrong: a missing argument, a bad flag value, a missing --yes. */
export const usageError = (message: string) => new LifeboatError('usage', message);
/** Something the operator can fix: a missing source, a full store, a too-small target. */
export const userError = (message: string, cause?: unknown) => new LifeboatError('user', message, { cause });
/** Stored data failed a check: a damaged chunk, an edited manifest, a truncated index. */
export const integrityError = (message: string) => new LifeboatError('integrity', message);
/** The request collides with state: a busy disk, a running backup during gc. */
export const conflictError = (message: string) => new LifeboatError('conflict', message);
export const notFoundError = (message: string) => new LifeboatError('not-found', message);
/** An external command failed: name it and keep its stderr. */
export function externalError(command: string, stderr: string, code: number | null): LifeboatError {
  const tail = stderr.trim().split('\n').slice(-5).join('\n');
  return new LifeboatError('external', `${command} failed (exit ${code ?? 'signal'})${tail ? `: ${tail}` : ''}`);
}
/** A broken invariant inside Lifeboat itself. */
export const bug = (message: string) => new LifeboatError('bug', `internal error (a bug in Lifeboat, please report it): ${message}`);

/** Exit codes of the CLI: 0 ok, 1 operation failed, 2 usage. */
export function exitCodeFor(err: unknown): number {
  return err instanceof LifeboatError && err.kind === 'usage' ? 2 : 1;
}

export function httpStatusFor(err: unknown): number {
  if (!(err instanceof LifeboatError)) return 500;
  switch (err.kind) {
    case 'usage':
    case 'user':
      return 400;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'integrity':
      return 422;
    case 'external':
      return 502;
    case 'bug':
      return 500;
  }
}

/** Turns a Node system error into a user error about `subject` with advice. */
export function describeSystemError(err: unknown, subject: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return userError(`${subject} does not exist: check the path`, err);
    case 'EACCES':
    case 'EPERM':
      return userError(`${subject}: permission denied: run as root or fix the permissions`, err);
    case 'EROFS':
      return userError(`${subject} is on a read-only filesystem: choose a writable location`, err);
    case 'ENOSPC':
      return userError(`${subject}: no space left on device: free space or run \`lifeboat store gc\`, then try again`, err);
    case 'EDQUOT':
      return userError(`${subject}: disk quota exceeded: free space, then try again`, err);
    case 'EISDIR':
      return userError(`${subject} is a directory, not a disk or file`, err);
    case 'EIO':
      return userError(`${subject}: I/O error from the device: check the disk and its cabling`, err);
    case 'EBUSY':
      return userError(`${subject} is busy (mounted or in use): unmount it first`, err);
    case 'EEXIST':
    case 'ENOTDIR': {
      // mkdir over a file, or a path through one: say which path is in the way.
      const path = (err as NodeJS.ErrnoException).path;
      return userError(`${subject}: ${path ?? 'the path'}${code === 'EEXIST' ? '' : ' (or a directory above it)'} is a file, not a directory: choose a directory (or a path that does not exist yet)`, err);
    }
    default:
      return userError(`${subject}: ${(err as Error | undefined)?.message ?? String(err)}`, err);
  }
}
