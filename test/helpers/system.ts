// Root-only fixtures the integration tests share: loop devices over files (whole or a byte
// range: there is no udev here, so a partition is attached by offset and size) and tmpfs
// mounts. Each returns its own undo, which is idempotent and never throws, so a test's
// finally block can always call it.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** Runs a command, throwing with its stderr when it fails; returns stdout. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

export interface LoopDevice {
  readonly dev: string;
  /** Detaches the device (once; later calls do nothing). */
  detach(): void;
}

export interface LoopOptions {
  /** First byte of `file` the device shows (a partition's start). */
  offset?: number;
  /** Bytes the device shows (a partition's size); the rest of the file by default. */
  size?: number;
  readOnly?: boolean;
  /** Logical sector size the device reports (e.g. 4096). */
  sectorSize?: number;
}

/** Attaches `file` (or a byte range of it) to a free loop device. */
export function attachLoop(file: string, options: LoopOptions = {}): LoopDevice {
  const args = ['-f', '--show'];
  if (options.readOnly) args.push('-r');
  if (options.offset !== undefined) args.push('-o', String(options.offset));
  if (options.size !== undefined) args.push('--sizelimit', String(options.size));
  if (options.sectorSize !== undefined) args.push('--sector-size', String(options.sectorSize));
  const dev = run('losetup', [...args, file]).trim();
  let attached = true;
  return {
    dev,
    detach() {
      if (!attached) return;
      if (spawnSync('losetup', ['-d', dev]).status === 0) attached = false;
    },
  };
}

/** Runs `fn` with `file` (or a byte range of it) on a loop device, detached afterwards. */
export function withLoop<T>(file: string, options: LoopOptions, fn: (dev: string) => T): T {
  const loop = attachLoop(file, options);
  try {
    return fn(loop.dev);
  } finally {
    loop.detach();
  }
}

/** Unmounts `dir`, lazily if it is busy (a FUSE flush, a straggling reader). */
export function unmount(dir: string): void {
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

/** Mounts a tmpfs at `dir` (made if missing) with `options` (e.g. `size=24m`); returns its unmount. */
export function mountTmpfs(dir: string, options: string): () => void {
  mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  let mounted = true;
  return () => {
    if (!mounted) return;
    unmount(dir);
    mounted = false;
  };
}
