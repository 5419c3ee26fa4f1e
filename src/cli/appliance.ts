// lifeboat appliance: what the appliance is and runs (GET /v1/appliance) — versions, the
// agent API's URL and certificate fingerprint (to compare with what a client shows or
// with `openssl s_client`), every service with its state, the interfaces and the store.
import type { Command } from 'commander';
import type { ApplianceStatus } from '../api/contract.js';
import { formatBytes, formatDuration } from '../format.js';
import { escapeForTerminal } from '../text.js';
import { client, table } from './client-common.js';

/** The status as text for a terminal. Pure. */
export function applianceText(a: ApplianceStatus): string {
  const lines = [`${escapeForTerminal(a.hostname)}: lifeboat ${a.version}, node ${a.node}, up ${formatDuration(a.uptimeSeconds)}`, `data ${a.dataDir}, socket ${a.socket}`];
  if (a.agentApi) {
    lines.push(
      '',
      `agent API    ${a.agentApi.url ?? '(off: no boot interface)'}${a.agentApi.plainHttp ? ' (plain HTTP: the lab setting boot.agentPlainHttp is on)' : ''}`,
      `certificate  SHA-256 ${a.agentApi.fingerprint}`,
      '             agents pin it; compare: openssl s_client -connect <address>:<port> </dev/null | openssl x509 -noout -fingerprint -sha256',
    );
  }
  lines.push('', table(a.services.map((s) => [s.name, s.state, s.detail]), ['SERVICE', 'STATE', 'DETAIL']));
  if (a.interfaces.length > 0) lines.push('', table(a.interfaces.map((i) => [i.name, i.mac, i.addresses.join(' ')]), ['INTERFACE', 'MAC', 'ADDRESSES']));
  const s = a.store;
  lines.push('', `store ${s.path}: ${s.images} image(s), ${formatBytes(s.storedBytes)} stored for ${formatBytes(s.logicalBytes)} protected, ${formatBytes(s.fsFreeBytes)} free of ${formatBytes(s.fsBytes)}`);
  lines.push(`jobs  ${a.jobs.running} running, ${a.jobs.active} active`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('appliance')
    .description('the appliance: versions, the agent API and its certificate fingerprint, services, interfaces, store')
    .option('--json', 'the status as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }) => {
      const status = await client(o.socket).appliance();
      process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : applianceText(status));
    });
}
