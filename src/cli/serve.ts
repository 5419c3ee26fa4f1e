// lifeboat serve [--config <file>] [--data-dir <dir>] [--socket <path>] [--repair-db]
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the daemon: management database, operator API, job runner')
    .option('--config <file>', 'configuration file (default /etc/lifeboat/config.json)')
    .option('--data-dir <dir>', 'state directory (default /var/lib/lifeboat)')
    .option('--socket <path>', 'operator API socket (default /run/lifeboat/api.sock)')
    .option('--repair-db', 'drop damaged database lines (a copy of each damaged file is kept)')
    .action(async (o: { config?: string; dataDir?: string; socket?: string; repairDb?: boolean }) => {
      const { runDaemon } = await import('../daemon/main.js'); // the daemon's modules load only for serve
      process.exitCode = await runDaemon({ ...o, ...(o.repairDb ? { repair: true } : {}) });
    });
}
