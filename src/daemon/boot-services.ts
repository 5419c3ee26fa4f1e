// The boot services of `lifeboat serve`: TFTP, HTTP boot and (when configured) DHCP, all
// bound to the boot interface's address only, started and stopped together with the
// daemon. TFTP also renders GRUB's configs on request (the signed chain for Secure Boot):
// grub/grub.cfg is the same for everyone, grub/mac/<mac>.cfg comes from the boot decision.
// Every file fetched and every script asked for goes to the boot directory, which records
// the machine's boot stage.
import { networkInterfaces } from 'node:os';
import { renderGrubMachine, renderGrubMain } from '../boot/boot-script.js';
import { type HttpBootEvent, HttpBootServer } from '../boot/http/server.js';
import { type TftpEvent, TftpServer } from '../boot/tftp/index.js';
import { directedBroadcast, sendWakeOnLan } from '../boot/wol.js';
import { conflictError, userError } from '../errors.js';
import type { BootDirectory } from './boot-directory.js';
import type { BootConfig } from './config.js';

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
  status(): ServiceStatus[];
  /** Wake-on-LAN for these MACs on the boot network. */
  wake(macs: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The interface's first IPv4 address and netmask, from the kernel's list. */
export function interfaceAddress(ifname: string): { address: string; netmask: string } {
  const entries = networkInterfaces()[ifname];
  if (!entries) throw userError(`there is no network interface ${JSON.stringify(ifname)}: check the boot interface (--interface or boot.interface; \`ip link\` lists them)`);
  const v4 = entries.find((e) => e.family === 'IPv4');
  if (!v4) throw userError(`network interface ${ifname} has no IPv4 address: give it a static one, e.g. \`ip addr add 192.168.50.1/24 dev ${ifname}\``);
  return { address: v4.address, netmask: v4.netmask };
}

const GRUB_MAC = /^grub\/mac\/([0-9a-f]{2}(?::[0-9a-f]{2}){5})\.cfg$/i;

const peerAddress = (peer: string) => peer.replace(/:\d+$/, '');

export async function startBootServices(o: { config: BootConfig; directory: BootDirectory; log: (level: 'info' | 'warning', msg: string, fields?: Record<string, unknown>) => void }): Promise<BootServices> {
  const { config, directory, log } = o;
  if (config.interface === undefined) {
    const off = (name: string): ServiceStatus => ({ name, state: 'off', detail: 'no boot interface configured (lifeboat serve --interface <ifname>)' });
    return {
      address: null,
      status: () => [off('DHCP'), off('TFTP'), off('HTTP boot')],
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
  let http: HttpBootServer;
  try {
    http = await HttpBootServer.start({
      root: config.bootRoot,
      host: address,
      port: config.httpPort,
      publicBase: `http://${address}${config.httpPort === 80 ? '' : `:${config.httpPort}`}`,
      plan: (subject) => directory.plan(subject),
      onEvent: (e: HttpBootEvent) => {
        if (e.type === 'file') files({ peer: e.peer, file: e.path });
        log(e.type === 'failed' ? 'warning' : 'info', `http boot ${e.type}`, { ...e });
      },
    });
  } catch (err) {
    await tftp.close();
    throw userError(`HTTP boot could not listen on ${address}:${config.httpPort}: ${(err as Error).message} (another web server running? choose --http-port)`);
  }
  log('info', 'boot services ready', { interface: config.interface, address, tftpPort: config.tftpPort, httpPort: config.httpPort, dhcp: config.dhcp });
  return {
    address,
    status: () => [
      { name: 'DHCP', state: 'off', detail: config.dhcp === 'off' ? 'off in the configuration' : 'not started', address },
      { name: 'TFTP', state: 'running', detail: `${address}:${config.tftpPort}, root ${config.bootRoot}`, address, counters: { ...tftp.counters } },
      { name: 'HTTP boot', state: 'running', detail: `http://${address}:${config.httpPort}/boot/`, address, counters: { ...http.counters } },
    ],
    wake: (macs) => sendWakeOnLan(macs, { from: address, broadcast: directedBroadcast(address, netmask), port: config.wolPort }),
    close: async () => {
      await Promise.all([tftp.close(), http.close()]);
    },
  };
}
