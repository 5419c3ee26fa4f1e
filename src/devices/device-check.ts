// The checks as the engine and root's local commands use them: inspect a path once, refuse
// what is in use with a user error, and open exactly what was checked (O_NOFOLLOW on the
// resolved path, then the identity compared again through the descriptor).
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { describeSystemError, userError } from '../errors.js';
import { type DeviceOperation, inUseRefusal } from './device-policy.js';
import { type Inspected, identityOf, inspectDevice } from './kernel-read.js';

/** Inspects `path` and throws a user error when `op` must not use it now (for block devices and files). */
export function assertNotInUse(op: DeviceOperation, path: string): Inspected {
  const d = inspectDevice(path);
  const refusal = inUseRefusal(op, d);
  if (refusal !== null) throw userError(refusal);
  return d;
}

/**
 * Opens what `d` resolved to, never through a symlink: read, read-write, or a new file
 * (created exclusively). Throws when what is there now is not what was checked.
 */
export async function openChecked(d: Inspected, how: 'read' | 'write' | 'create' | 'truncate', subject: string): Promise<FileHandle> {
  const path = d.resolved ?? d.path;
  const { O_RDONLY, O_RDWR, O_NOFOLLOW, O_CREAT, O_EXCL, O_TRUNC } = constants;
  const flags = O_NOFOLLOW | { read: O_RDONLY, write: O_RDWR, create: O_RDWR | O_CREAT | O_EXCL, truncate: O_RDWR | O_TRUNC }[how];
  let fh: FileHandle;
  try {
    fh = await open(path, flags, 0o640);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EEXIST') throw userError(`${subject} ${path} changed while it was checked (${code === 'ELOOP' ? 'it is a symlink now' : 'it exists now'}): check what created it, then try again`);
    throw describeSystemError(err, `${subject} ${path}`);
  }
  if (how !== 'create' && d.identity !== null) {
    const now = identityOf(await fh.stat({ bigint: true }));
    const same = now !== null && now.kind === d.identity.kind && now.dev === d.identity.dev && (now.kind === 'block' || (d.identity.kind === 'file' && now.ino === d.identity.ino));
    if (!same) {
      await fh.close();
      throw userError(`${subject} ${path} changed while it was checked (it is another ${now?.kind ?? 'kind of'} file now): check what replaced it, then try again`);
    }
  }
  return fh;
}

