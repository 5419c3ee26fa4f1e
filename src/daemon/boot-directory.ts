// The daemon's side of the boot path: who a network-booting client is (by MAC, then by
// SMBIOS UUID), what its boot does (the pure decision in src/boot/decision.ts, fed from the
// database), and how far its boot got. The DHCP, TFTP and HTTP services call it; it alone
// reads and writes machines and jobs for them.
//
// - Discovery: a PXE client nobody knows becomes a `discovered` machine (named after its
//   MAC) when discovery is on, and boots the boot OS in inventory mode until its inventory
//   has arrived; the operator approves, names or ignores it.
// - A machine with a job waiting for its boot gets the boot OS with that job's one-job
//   token on the kernel command line; the token is issued here (AgentTokens) and is the
//   same for every boot of that job until it ends.
// - Boot stages (dhcp → loader → script → kernel → agent) are recorded on the machine and
//   published as log events, so `machines show`, the console and the event stream see them.
import type { BootOsFiles } from '../boot/boot-script.js';
import { type BootAction, type BootRecord, type Firmware, decideBoot } from '../boot/decision.js';
import type { BootStageName, Machine, ManagementStore } from '../db/index.js';
import type { AgentTokens } from './agent-tokens.js';
import type { EventHub } from './event-hub.js';

/** Where the boot OS lives in the boot root (written by `lifeboat bootos build`). */
export const BOOT_OS_FILES = { kernel: 'lifeboat/vmlinuz', initrd: 'lifeboat/initrd.img' } as const;

export interface BootParamsForLine {
  url: string;
  token: string;
  fingerprint: string | null;
}

export interface BootDirectoryOptions {
  db: ManagementStore;
  hub: EventHub;
  tokens: AgentTokens;
  discovery: () => boolean;
  /** The agent API's URL and the certificate fingerprint the agent pins. */
  agent: () => { url: string; fingerprint: string | null };
  /** The kernel arguments for these parameters (consoles and lifeboat.* tokens). */
  commandLine: (p: BootParamsForLine) => string[];
  log: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

/** The name a discovered machine gets until the operator names it: `new-` and its MAC's hex digits. */
export function discoveredName(mac: string): string {
  return `new-${mac.replaceAll(':', '')}`;
}

export class BootDirectory {
  /** Which machine an IP address belongs to, learnt from DHCP and script requests (for TFTP/HTTP file fetches). */
  private readonly byAddress = new Map<string, string>();
  private readonly now: () => Date;

  constructor(private readonly o: BootDirectoryOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** The machine a client is, by MAC then by SMBIOS UUID; with `discover`, an unknown PXE client is recorded as discovered. */
  async resolve(client: { mac: string; uuid: string | null }, discover: boolean): Promise<Machine | null> {
    const byMac = await this.o.db.machines.findByMac(client.mac);
    if (byMac) return byMac;
    if (client.uuid) {
      const byUuid = await this.o.db.machines.findBySystemUuid(client.uuid).catch(() => null);
      if (byUuid) return byUuid;
    }
    if (!discover || !this.o.discovery()) return null;
    try {
      const m = await this.o.db.machines.add({ name: discoveredName(client.mac), macs: [client.mac], status: 'discovered', ...(client.uuid ? { systemUuid: client.uuid } : {}) });
      await this.o.db.events.record({ actor: 'boot', action: 'machine.discover', subject: m.name, details: { mac: client.mac, ...(client.uuid ? { uuid: client.uuid } : {}) } });
      this.publish(`discovered a new machine ${m.name} (MAC ${client.mac})`);
      this.o.log('machine discovered', { machine: m.name, mac: client.mac });
      return m;
    } catch {
      // two requests of the same new client raced: the other one added it
      return this.o.db.machines.findByMac(client.mac);
    }
  }

  /** What DHCP needs about a client for its answer: its name, loader and fixed address (null: unknown). Asked for every DHCP message: no discovery, no stage. */
  async dhcpLookup(client: { mac: string; uuid: string | null }): Promise<{ name: string; loader: 'auto' | 'ipxe' | 'ipxe-full' | 'signed'; fixedAddress?: string } | null> {
    // By MAC only for the address: a fixed address goes to the MACs of its machine, not to a client claiming its UUID.
    const m = await this.resolve(client, false);
    if (!m) return null;
    return { name: m.name, loader: m.bootLoader ?? 'auto', ...(m.fixedAddress && m.macs.includes(client.mac) ? { fixedAddress: m.fixedAddress } : {}) };
  }

  /** Every machine's fixed address: the DHCP server gives none of them to another client. */
  async reservedAddresses(): Promise<ReadonlySet<string>> {
    return new Set(await this.o.db.machines.fixedAddresses());
  }

  /** A PXE client's DHCP request: a boot stage, and an unknown client may be discovered. */
  async dhcpClient(client: { mac: string; uuid: string | null; address?: string }): Promise<{ name: string; loader: 'auto' | 'ipxe' | 'ipxe-full' | 'signed' } | null> {
    const m = await this.resolve(client, true);
    if (!m) return null;
    await this.stage(m, 'dhcp', client.address);
    return { name: m.name, loader: m.bootLoader ?? 'auto' };
  }

  /** An IP address was given to (or used by) this MAC: file fetches from it are this machine's. */
  async addressOf(mac: string, address: string): Promise<void> {
    const m = await this.o.db.machines.findByMac(mac);
    if (m) this.byAddress.set(address, m.id);
  }

  /** The decision and the boot OS files for a client asking for its script (iPXE) or GRUB config. */
  async plan(subject: { mac: string; uuid: string | null; firmware: Firmware; address: string }): Promise<{ action: BootAction; files: BootOsFiles }> {
    const m = await this.resolve(subject, true);
    const record: BootRecord = {};
    if (m) {
      this.byAddress.set(subject.address, m.id);
      record.machine = {
        id: m.id,
        name: m.name,
        ...(m.localBoot ? { localBoot: m.localBoot } : {}),
        ...(m.status === 'ignored' ? { ignored: true } : {}),
        ...(m.status === 'discovered' && !m.inventory?.collectedAt ? { needsInventory: true } : {}),
      };
      // A job's token goes only to a MAC the machine is known by: the UUID in a request is the
      // client's own word (any machine on the LAN can claim another's), good for recognising a
      // machine, not for handing it another machine's job.
      const byMac = m.macs.includes(subject.mac);
      // A job whose machine fetched the boot OS (booting) and boots again (its agent never started) still gets its token.
      const waiting = byMac ? (await this.o.db.jobs.list({ machineId: m.id, state: ['waiting-for-boot', 'booting'], limit: 1 }))[0] : undefined;
      if (waiting && (waiting.type === 'backup' || waiting.type === 'restore')) {
        record.job = { id: waiting.id, type: waiting.type, token: this.o.tokens.issue({ kind: 'job', jobId: waiting.id, machineId: m.id, jobType: waiting.type }) };
      }
    }
    const action = decideBoot(subject.firmware, record, { discovery: this.o.discovery() });
    let cmdline: string[] = [];
    if (action.kind === 'boot-os') {
      const token = action.mode === 'job' ? action.token : this.o.tokens.issue({ kind: 'inventory', machineId: m?.id ?? '' });
      const agent = this.o.agent();
      cmdline = this.o.commandLine({ url: agent.url, token, fingerprint: agent.fingerprint });
    }
    if (m) await this.stage(m, 'script', action.kind === 'boot-os' ? (action.mode === 'job' ? `boot OS for ${action.jobType} job ${action.jobId}` : 'boot OS (inventory)') : `local disk: ${action.reason}`);
    return { action, files: { ...BOOT_OS_FILES, cmdline } };
  }

  /** A file of the boot root was fetched: a loader or the boot OS's kernel are boot stages. */
  async fetched(address: string, path: string): Promise<void> {
    const name = path.replace(/^\/+/, '');
    const stage: BootStageName | null = name === BOOT_OS_FILES.kernel ? 'kernel' : /^(undionly\.kpxe|snponly\.efi|ipxe\.efi|shimx64\.efi|grubx64\.efi)$/.test(name) ? 'loader' : null;
    const id = this.byAddress.get(address);
    if (!stage || !id) return;
    const m = await this.o.db.machines.findById(id);
    if (!m) return;
    await this.stage(m, stage, name);
    if (stage !== 'kernel') return;
    // The machine fetched the boot OS: its job moves from waiting-for-boot to booting.
    for (const job of await this.o.db.jobs.list({ machineId: m.id, state: 'waiting-for-boot', limit: 5 })) {
      const booting = await this.o.db.jobs.transition(job.id, 'boot').catch(() => null);
      if (booting) this.o.hub.publish({ type: 'job-state', jobId: job.id, state: booting.state });
    }
  }

  private async stage(m: Machine, stage: BootStageName, detail?: string): Promise<void> {
    try {
      await this.o.db.machines.recordBootStage(m.id, { stage, at: this.now().toISOString(), ...(detail ? { detail: detail.slice(0, 200) } : {}) });
      this.publish(`${m.name}: network boot reached ${stage}${detail ? ` (${detail})` : ''}`);
    } catch (err) {
      this.o.log('could not record a boot stage', { machine: m.name, stage, error: (err as Error).message });
    }
  }

  private publish(message: string): void {
    this.o.hub.publish({ type: 'log', level: 'info', message, at: this.now().toISOString() });
  }
}
