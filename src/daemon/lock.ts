// One daemon per data directory: a lock file holding the owner's pid, created with
// O_EXCL; a lock left by a dead process is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflictError, describeSystemError } from '../errors.js';
import { processAlive } from '../imaging/repo/locks.js';

export interface DaemonLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DaemonLock {
  const file = join(dataDir, 'daemon.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o640 });
      return {
        release() {
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw describeSystemError(err, `lock file ${file}`);
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (processAlive(pid)) throw conflictError(`another lifeboat daemon (pid ${pid}) is already running on ${dataDir}: stop it first (systemctl stop lifeboat) or use another --data-dir`);
      unlinkSync(file); // stale: its process is gone
    }
  }
  throw conflictError(`could not take the lock ${file}: another daemon is starting; try again`);
}
