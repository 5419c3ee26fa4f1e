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
    .option('--interface <ifname>', 'boot network interface: DHCP, TFTP and HTTP boot bind to its address only')
    .option('--dhcp <mode>', 'off (default), proxy (beside the site\'s DHCP server) or full (own address range)')
    .option('--dhcp-range <first-last>', 'full DHCP: the addresses handed out')
    .option('--http-port <n>', 'HTTP boot port (default 80)')
    .option('--tftp-port <n>', 'TFTP port (default 69)')
    .option('--agent-port <n>', 'agent API port, HTTPS with the appliance\'s own certificate (default 8443)')
    .option('--boot-root <dir>', 'what TFTP and HTTP boot serve (default <data-dir>/boot)')
    .action(async (o: { config?: string; dataDir?: string; socket?: string; repairDb?: boolean; interface?: string; dhcp?: string; dhcpRange?: string; httpPort?: string; tftpPort?: string; agentPort?: string; bootRoot?: string }) => {
      const { runDaemon } = await import('../daemon/main.js'); // the daemon's modules load only for serve
      const boot = Object.fromEntries(Object.entries({ interface: o.interface, dhcp: o.dhcp, dhcpRange: o.dhcpRange, httpPort: o.httpPort, tftpPort: o.tftpPort, agentPort: o.agentPort, bootRoot: o.bootRoot }).filter(([, v]) => v !== undefined));
      process.exitCode = await runDaemon({
        ...(o.config !== undefined ? { config: o.config } : {}),
        ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
        ...(o.socket !== undefined ? { socket: o.socket } : {}),
        ...(o.repairDb ? { repair: true } : {}),
        boot,
      });
    });
}
