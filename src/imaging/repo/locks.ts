// Image store locks between processes: lock files holding the owner's pid, in locks/.
// A backup holds a shared "backup" lock, gc an exclusive one; each creates its own
// file first and then looks for the other kind, so at least one of two racing
// processes sees the other and backs off. Locks of dead processes are stale and ignored.
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflictError, describeSystemError } from '../../errors.js';
import { STORE_LAYOUT } from './formats.js';

export interface LockInfo {
  kind: 'backup' | 'gc';
  pid: number;
  subject: string;
  startedAt: string;
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
  constructor(readonly file: string) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

export function acquireLock(root: string, kind: 'backup' | 'gc', subject: string): StoreLock {
  const name = kind === 'gc' ? 'gc.lock' : `backup-${subject}.lock`;
  const file = join(root, STORE_LAYOUT.locks, name);
  const info: LockInfo = { kind, pid: process.pid, subject, startedAt: new Date().toISOString() };
  const others = () => liveLocks(root).filter((l) => l.file !== file);
  if (kind === 'gc') {
    const holder = others().find((l) => l.kind === 'gc');
    if (holder) throw conflictError(`store gc is already running (pid ${holder.pid}): wait for it to finish`);
  }
  try {
    writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o640 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw conflictError(`${name} is held by another process: wait for it to finish`);
    throw describeSystemError(err, `creating lock ${file}`);
  }
  const lock = new StoreLock(file);
  const blocking = others().find((l) => (kind === 'gc' ? true : l.kind === 'gc'));
  if (blocking) {
    lock.release();
    throw kind === 'gc'
      ? conflictError(`a backup is running (image ${blocking.subject}, pid ${blocking.pid}): run gc after it finishes`)
      : conflictError(`store gc is running (pid ${blocking.pid}): start the backup after it finishes`);
  }
  return lock;
}
