// Network namespaces for the boot-service tests: each Lab names everything it creates
// after the test process (so parallel tests never collide), runs programs inside its
// namespaces, and removes all of it (processes first) in cleanup().
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './cli.js';

export const TSX_ARGS = ['--import', 'tsx'];

export class Lab {
  readonly tag: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(suffix: string) {
    this.tag = `lb${process.pid % 100000}${suffix}`.slice(0, 11);
  }

  sh(command: string): string {
    const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  }

  /** A new namespace with its loopback up. */
  ns(name: string): string {
    const ns = `${this.tag}${name}`;
    this.sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    this.namespaces.push(ns);
    return ns;
  }

  /** A veth pair, one end in each namespace, both up; returns the two interface names. */
  veth(nsA: string, nsB: string, name: string): [string, string] {
    const [a, b] = [`${this.tag}${name}a`, `${this.tag}${name}b`];
    this.sh(`ip link add ${a} netns ${nsA} type veth peer name ${b} netns ${nsB} && ip -n ${nsA} link set ${a} up && ip -n ${nsB} link set ${b} up`);
    return [a, b];
  }

  /** A bridge in `ns`, up; returns its name. */
  bridge(ns: string, name: string): string {
    const br = `${this.tag}${name}`;
    this.sh(`ip -n ${ns} link add ${br} type bridge && ip -n ${ns} link set ${br} up`);
    return br;
  }

  /** A program inside `ns`; killed by cleanup() if still running. */
  spawn(ns: string, command: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** A program inside `ns` to its end (or `timeoutMs`): exit code and all it printed. */
  run(ns: string, command: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
    const child = this.spawn(ns, command, args);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      }),
    );
  }

  /** A helper script of test/helpers under tsx, inside `ns`. */
  node(ns: string, script: string, json: unknown): ChildProcess {
    return this.spawn(ns, process.execPath, [...TSX_ARGS, join(REPO, 'test/helpers', script), JSON.stringify(json)]);
  }

  async cleanup(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            c.kill('SIGKILL');
            r(null);
          }, 3000);
          c.once('close', () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
    }
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** A child's stdout as JSON lines; `waitFor` resolves on the first line `match` accepts. */
export class JsonLines {
  readonly lines: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  stderr = '';

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          line = { text };
        }
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.match(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  waitFor(match: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000, what = 'a line'): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.lines.slice(-5))} stderr ${this.stderr.slice(-500)}`)), timeoutMs);
      const onExit = () => reject(new Error(`the process exited before ${what}; stderr ${this.stderr.slice(-1000)} stdout ${JSON.stringify(this.lines.slice(-5))}`));
      this.child.once('exit', onExit);
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(l);
        },
      });
    });
  }

  /** Every JSON line read to the end of the process. */
  async all(): Promise<Array<Record<string, unknown>>> {
    if (this.child.exitCode === null && this.child.signalCode === null) await new Promise((r) => this.child.once('close', r));
    return this.lines;
  }
}
