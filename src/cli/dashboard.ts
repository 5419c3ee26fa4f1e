// lifeboat dashboard [--socket <path>]: the read-only wall display (blessed-contrib) for
// the appliance's own monitor. `q` or Ctrl-C quits; jobs keep running.
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { client } from './client-common.js';
import type { CommandContext } from './context.js';

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('dashboard')
    .description('read-only wall display: throughput, store usage, reduction, running jobs, events (q quits)')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { socket?: string }) => {
      if (!process.stdout.isTTY || !process.stdin.isTTY) throw usageError('the dashboard needs a terminal: run it on the console or in a terminal window (for scripts, use `lifeboat jobs list --json`)');
      // Loaded only when asked for: blessed would slow every other command's start.
      const { runDashboard } = await import('../dashboard/index.js');
      const { detectCaps } = await import('../tui/terminal.js');
      await runDashboard({ api: client(o.socket), signal: ctx.signal, noColor: (process.env.NO_COLOR ?? '') !== '', ascii: detectCaps(process.env).ascii });
    });
}
