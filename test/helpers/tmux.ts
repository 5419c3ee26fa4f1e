// Driving a terminal program as a person would: a tmux server of the test's own (its name
// includes the process id, so tests running at once never meet), keys sent, the screen read.
import { spawnSync } from 'node:child_process';

export interface Tmux {
  /** Runs a tmux command on this server; throws with tmux's words when it fails. */
  run(...args: string[]): string;
  screen(pane: string): string;
  keys(pane: string, ...k: string[]): string;
  /** The screen once it matches `what`; fails after `ms` with the screen and `context()` (e.g. the daemon's log tail). */
  waitFor(pane: string, what: RegExp, ms?: number): Promise<string>;
}

export function tmuxServer(server: string, context: () => string = () => ''): Tmux {
  const run = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const screen = (pane: string) => run('capture-pane', '-p', '-t', pane);
  return {
    run,
    screen,
    keys: (pane, ...k) => run('send-keys', '-t', pane, ...k),
    async waitFor(pane, what, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const s = screen(pane);
        if (what.test(s)) return s;
        if (Date.now() > end) throw new Error(`pane ${pane}: no ${what} within ${ms} ms; screen:\n${s}\n${context()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
