// The boot services of `lifeboat serve`: TFTP, HTTP boot, the agent API (HTTPS, see
// agent-api.ts) and (when configured) DHCP, all bound to the boot interface's address
// only, started and stopped together with the daemon. TFTP also renders GRUB's configs
// on request (the signed chain for Secure Boot): grub/grub.cfg is the same for everyone,
// grub/mac/<mac>.cfg comes from the boot decision. Every file fetched and every script
// asked for goes to the boot directory, which records the machine's boot stage.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderGrubMachine, renderGrubMain } from '../boot/boot-script.js';
import { type DhcpEvent, type DhcpServer, fixedAddressProblem, interfaceAddress, startDhcpServer } from '../boot/dhcp/index.js';
import type { LeaseStore } from '../boot/dhcp/lease-store.js';
import { type HttpBootEvent, HttpBootServer } from '../boot/http/server.js';
import { type TftpEvent, TftpServer } from '../boot/tftp/index.js';
import { tftpSendProblem } from '../boot/native/index.js';
import { directedBroadcast, sendWakeOnLan } from '../boot/wol.js';
import { conflictError, userError } from '../errors.js';
import { type AgentApi, startAgentApi } from './agent-endpoint.js';
import type { BootDirectory } from './boot-directory.js';
import type { BootConfig } from './config.js';
import type { TlsIdentity } from './tls-identity.js';

export interface ServiceStatus {
  name: string;
  state: 'running' | 'off' | 'failed';
  detail: string;
  address?: string;
  counters?: Record<string, number>;
}

export interface BootServices {
  /** The interface's address, or null with the boot services off. */
  readonly address: string | null;
  /** The agent API's URL and the certificate fingerprint agents pin (null with the boot services off). */
  readonly agent: { url: string; fingerprint: string | null } | null;
  status(): ServiceStatus[];
  /** What is wrong with a machine's fixed address on the boot network, or null (also with the boot services off: nothing to check against). */
  fixedAddressProblem(ip: string): string | null;
  /** Wake-on-LAN for these MACs on the boot network. */
  wake(macs: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

const GRUB_MAC = /^grub\/mac\/([0-9a-f]{2}(?::[0-9a-f]{2}){5})\.cfg$/i;

const peerAddress = (peer: string) => peer.replace(/:\d+$/, '');

export async function startBootServices(o: { config: BootConfig; directory: BootDirectory; leases: LeaseStore; tls: TlsIdentity; agentRoutes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>; log: (level: 'info' | 'warning', msg: string, fields?: Record<string, unknown>) => void }): Promise<BootServices> {
  const { config, directory, log } = o;
  if (config.interface === undefined) {
    const off = (name: string): ServiceStatus => ({ name, state: 'off', detail: 'no boot interface configured (lifeboat serve --interface <ifname>)' });
    return {
      address: null,
      agent: null,
      status: () => [off('DHCP'), off('TFTP'), off('HTTP boot'), { ...off('agent API'), detail: `${off('').detail}; certificate SHA-256 ${o.tls.display}` }],
      fixedAddressProblem: () => null,
      wake: async () => {
        throw conflictError('Wake-on-LAN goes out on the boot network: configure the boot interface (lifeboat serve --interface <ifname>)');
      },
      close: async () => {},
    };
  }
  const { address, netmask } = interfaceAddress(config.interface);
  const files = (e: { peer: string; file: string }) =>
    void directory.fetched(peerAddress(e.peer), e.file).catch((err: Error) => log('warning', 'could not record a boot file fetch', { peer: e.peer, file: e.file, error: err.message }));
  const tftp = await TftpServer.start({
    root: config.bootRoot,
    host: address,
    port: config.tftpPort,
    resolve: async (path, client) => {
      if (path === 'grub/grub.cfg') return Buffer.from(renderGrubMain());
      const m = GRUB_MAC.exec(path);
      if (!m) return null;
      const { action, files: bootOs } = await directory.plan({ mac: (m[1] as string).toLowerCase(), uuid: null, firmware: 'uefi', address: client.address });
      return Buffer.from(renderGrubMachine(action, bootOs));
    },
    onEvent: (e: TftpEvent) => {
      if (e.type === 'sent') files(e);
      if (e.level === 'warn' || e.level === 'info') log(e.level === 'warn' ? 'warning' : 'info', `tftp ${e.type}`, { ...e });
    },
  }).catch((err: Error) => {
    throw userError(`TFTP could not listen on ${address}:${config.tftpPort}: ${err.message} (another TFTP server running? choose --tftp-port)`);
  });
  let agentApi: AgentApi;
  try {
    agentApi = await startAgentApi({ config, address, tls: o.tls, routes: o.agentRoutes ?? (async () => false), log });
  } catch (err) {
    await tftp.close();
    throw err;
  }
  let http: HttpBootServer;
  try {
    http = await HttpBootServer.start({
      root: config.bootRoot,
      host: address,
      port: config.httpPort,
      publicBase: `http://${address}${config.httpPort === 80 ? '' : `:${config.httpPort}`}`,
      plan: (subject) => directory.plan(subject),
      extraRoutes: agentApi.plainRoutes,
      onEvent: (e: HttpBootEvent) => {
        if (e.type === 'file') files({ peer: e.peer, file: e.path });
        log(e.type === 'failed' ? 'warning' : 'info', `http boot ${e.type}`, { ...e });
      },
    });
  } catch (err) {
    await Promise.all([tftp.close(), agentApi.close()]);
    throw userError(`HTTP boot could not listen on ${address}:${config.httpPort}: ${(err as Error).message} (another web server running? choose --http-port)`);
  }
  let dhcp: DhcpServer | null = null;
  if (config.dhcp !== 'off') {
    try {
      dhcp = await startDhcpServer({
        interface: config.interface,
        mode: config.dhcp,
        ...(config.dhcpRange ? { range: config.dhcpRange } : {}),
        ...(config.router ? { router: config.router } : {}),
        ...(config.dns ? { dns: config.dns } : {}),
        leaseSeconds: config.leaseSeconds,
        httpPort: config.httpPort,
        leases: o.leases,
        directory: { lookup: (client) => directory.dhcpLookup(client), reserved: () => directory.reservedAddresses() },
        onEvent: (e: DhcpEvent) => {
          if (e.type === 'discover' && (e.pxe || e.ipxe)) void directory.dhcpClient({ mac: e.mac, uuid: e.uuid }).catch(() => {});
          if (e.type === 'reply' && e.address && e.address !== '0.0.0.0') void directory.addressOf(e.mac, e.address).catch(() => {});
          if (e.type === 'lease' || e.type === 'error') log(e.type === 'error' ? 'warning' : 'info', `dhcp ${e.type}`, { ...e });
        },
      });
    } catch (err) {
      await Promise.all([tftp.close(), http.close(), agentApi.close()]);
      throw err;
    }
  }
  const dhcpServer = dhcp;
  log('info', 'boot services ready', { interface: config.interface, address, tftpPort: config.tftpPort, httpPort: config.httpPort, dhcp: config.dhcp, tftpDataPath: tftp.dataPath });
  if (tftp.dataPath !== 'native') log('warning', `TFTP sends from Node's dgram, slower per block: ${tftpSendProblem || 'the native data path is off'}`);
  return {
    address,
    agent: agentApi.target,
    status: () => [
      dhcpServer
        ? { name: 'DHCP', state: 'running', detail: `${config.dhcp} on ${config.interface}${config.dhcpRange ? `, ${config.dhcpRange.start}-${config.dhcpRange.end}` : ''}`, address }
        : { name: 'DHCP', state: 'off', detail: 'off in the configuration (--dhcp proxy|full)', address },
      { name: 'TFTP', state: 'running', detail: `${address}:${config.tftpPort}, root ${config.bootRoot}`, address, counters: { ...tftp.counters } },
      { name: 'HTTP boot', state: 'running', detail: `http://${address}:${config.httpPort}/boot/`, address, counters: { ...http.counters } },
      agentApi.status(),
    ],
    fixedAddressProblem: (ip) => fixedAddressProblem(ip, { server: { address, netmask }, mode: config.dhcp, ...(config.dhcpRange ? { range: config.dhcpRange } : {}) }),
    wake: (macs) => sendWakeOnLan(macs, { from: address, broadcast: directedBroadcast(address, netmask), port: config.wolPort }),
    close: async () => {
      await Promise.all([tftp.close(), http.close(), agentApi.close(), dhcpServer?.close()]);
    },
  };
}
