// Image store locks between processes: lock files holding the owner's pid, in locks/.
// A backup holds a shared "backup" lock, a restore, verify or export a shared "read" lock
// on its image (one file per reader), gc an exclusive one; each creates its own file first
// and then looks for the other kind, so at least one of two racing processes sees the
// other and backs off. Locks of dead processes are stale and ignored.
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { conflictError, describeSystemError, usageError } from '../../errors.js';
import { STORE_LAYOUT } from './formats.js';

export interface LockInfo {
  kind: LockKind;
  pid: number;
  /** What a read lock's holder does with the image: restore, verify or export. */
  operation?: string;
  subject: string;
  startedAt: string;
}

export type LockKind = 'backup' | 'read' | 'gc';

/** What a lock's holder is doing, for messages: "a restore is running (image X, pid N)". */
export function describeHolder(l: LockInfo): string {
  const what = l.kind === 'read' ? (l.operation ?? 'restore') : l.kind;
  return `${what === 'export' ? 'an' : 'a'} ${what} is running (image ${l.subject}, pid ${l.pid})`;
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Live locks of the store, removing stale ones of dead processes on the way. */
export function liveLocks(root: string): Array<LockInfo & { file: string }> {
  const dir = join(root, STORE_LAYOUT.locks);
  const out: Array<LockInfo & { file: string }> = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!name.endsWith('.lock')) continue;
    const file = join(dir, name);
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      continue; // being written, or removed meanwhile
    }
    if (processAlive(info.pid)) out.push({ ...info, file });
    else {
      try {
        unlinkSync(file);
      } catch {
        /* someone else cleaned it */
      }
    }
  }
  return out;
}

export class StoreLock {
  private released = false;
  /** `file` null: nothing to hold (a read lock on a read-only store, which no gc can change). */
  constructor(readonly file: string | null) {}
  release(): void {
    if (this.released || this.file === null) return;
    this.released = true;
    try {
      unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Takes a lock of `kind` on `subject` (an image id; 'gc' for gc). Read locks are one file
 * per holder, so any number of restores, verifies and exports of one image run together.
 */
export function acquireLock(root: string, kind: LockKind, subject: string, operation?: string): StoreLock {
  if (kind !== 'gc' && !/^[\w.-]{1,128}$/.test(subject)) throw usageError(`invalid lock subject ${JSON.stringify(subject).slice(0, 80)}: letters, digits, '.', '_' and '-' only`);
  const name = kind === 'gc' ? 'gc.lock' : kind === 'read' ? `read-${subject}-${process.pid}-${randomBytes(4).toString('hex')}.lock` : `backup-${subject}.lock`;
  const file = join(root, STORE_LAYOUT.locks, name);
  const info: LockInfo = { kind, pid: process.pid, subject, ...(operation ? { operation } : {}), startedAt: new Date().toISOString() };
  const others = () => liveLocks(root).filter((l) => l.file !== file);
  if (kind === 'gc') {
    const holder = others().find((l) => l.kind === 'gc');
    if (holder) throw conflictError(`store gc is already running (pid ${holder.pid}): wait for it to finish`);
  }
  try {
    writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o640 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw conflictError(`${name} is held by another process: wait for it to finish`);
    // A store on a read-only filesystem can be read, and no gc can remove a chunk from it meanwhile.
    if (kind === 'read' && (err as NodeJS.ErrnoException).code === 'EROFS') return new StoreLock(null);
    throw describeSystemError(err, `creating lock ${file}`);
  }
  const lock = new StoreLock(file);
  const blocking = others().find((l) => (kind === 'gc' ? true : l.kind === 'gc'));
  if (blocking) {
    lock.release();
    throw kind === 'gc'
      ? conflictError(`${describeHolder(blocking)}: run gc after it finishes`)
      : conflictError(`store gc is running (pid ${blocking.pid}): start the ${kind === 'read' ? (operation ?? 'restore') : 'backup'} after it finishes`);
  }
  return lock;
}
