// A real `lifeboat serve` process on a temporary socket and data directory, for
// integration tests of every API client (CLI, TUI, dashboard). Its stderr (JSON log
// lines) is kept for assertion messages.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.js';
import { CLI, sh } from './cli.js';

export interface TestDaemon {
  child: ChildProcess;
  socket: string;
  dataDir: string;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** SIGTERM (or the given signal) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a daemon on `<dir>/api.sock` with data in `<dir>/data` and waits until it answers.
 * Without a config of the test's own, `dir` is its docked directory: disk-image files the
 * test makes there are what its jobs may use.
 */
export async function startDaemon(dir: string, opts: { socket?: string; dataDir?: string; config?: string; args?: string[]; netns?: string } = {}): Promise<TestDaemon> {
  const socket = opts.socket ?? join(dir, 'api.sock');
  const dataDir = opts.dataDir ?? join(dir, 'data');
  let config = opts.config;
  if (config === undefined) {
    mkdirSync(dir, { recursive: true });
    config = join(dir, 'test-daemon-config.json');
    writeFileSync(config, JSON.stringify({ dockedDir: dir }));
  }
  let text = '';
  const argv = [process.execPath, CLI, 'serve', '--data-dir', dataDir, '--socket', socket, '--config', config, ...(opts.args ?? [])];
  // In a network namespace the test made (boot services on its interfaces); `ip netns exec` execs, so the child is the daemon.
  const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const daemon: TestDaemon = {
    child,
    socket,
    dataDir,
    log: () => text,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited(child);
    },
  };
  for (let i = 0; i < 150; i++) {
    if (existsSync(socket) && (await new ApiClient(socket).health().then(() => true, () => false))) return daemon;
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`daemon did not come up: ${text}`);
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

/** A disk-image file of random data (nothing to compress, nothing to skip): a backup of it takes a while. */
export function randomDisk(path: string, mib: number): void {
  sh(`head -c ${mib}M /dev/urandom > ${path}`);
}
