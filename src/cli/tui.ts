// lifeboat tui [--socket <path>]: the full-screen operator console (src/tui/).
// Unlike the other client commands it does not exit 3 when the daemon is unreachable: it
// starts anyway and shows "reconnecting" until the daemon answers (a console on tty1
// may well come up before the daemon does). It exits 0 on q.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('tui')
    .description('the operator console: machines, images, jobs, schedules, appliance; live progress')
    .option('--socket <path>', 'daemon socket (default $LIFEBOAT_SOCKET or /run/lifeboat/api.sock)')
    .action(async (o: { socket?: string }) => {
      // Loaded only when asked for: React and Ink would slow every other command's start.
      const { runTui } = await import('../tui/index.js');
      const code = await runTui(o.socket ? { socket: o.socket } : {});
      if (code !== 0) process.exitCode = code;
    });
}
