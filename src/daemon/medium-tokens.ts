// Tokens of boot media. Unlike the one-job tokens of a network boot (agent-tokens.ts, in
// memory, one per job), a medium's token is written onto a CD or USB stick that lives for
// months: its SHA-256 is kept in the management database (media.ts), so it survives
// restarts, and the operator revokes it (`lifeboat bootmedia revoke`).
//
// A medium's token only ever says hello. Its hello is answered for its scope:
// - a machine's medium: that machine's waiting job, if any — with a fresh one-job token
//   (AgentTokens) for the job routes — else none. The booted computer must be that machine
//   (one of its MACs, or its SMBIOS UUID): a stick moved to another computer gets no job.
// - a registration medium: the computer is found by MAC or SMBIOS UUID, or created from its
//   inventory (named from SMBIOS product and MAC, unique); the answer is none.
import { createHash, randomBytes } from 'node:crypto';
import { conflictError, notFoundError, userError } from '../errors.js';
import type { Machine, ManagementStore, Medium } from '../db/index.js';
import { NAME_PATTERN } from '../db/index.js';
import type { AgentTokens, TokenScope } from './agent-tokens.js';
import type { EventHub } from './event-hub.js';

export type MediumTokenScope = { kind: 'medium'; mediumId: string; machineId: string } | { kind: 'registration'; mediumId: string };

/** What a hello tells about the computer that booted, as far as a medium needs it. */
export interface HelloIdentity {
  uuid: string | null;
  manufacturer: string | null;
  product: string | null;
  macs: string[];
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** SMBIOS fillers that say nothing about the machine. */
const FILLER = /^(to be filled by o\.?e\.?m\.?|system product name|default string|not specified|none|unknown|o\.?e\.?m\.?|x+)$/i;

/** The name a registered computer gets: its SMBIOS product (when it says something) and the end of its first MAC, made unique. Pure. */
export function registrationName(identity: HelloIdentity, taken: (name: string) => boolean): string {
  const mac = (identity.macs[0] ?? '').replaceAll(':', '');
  const product = identity.product && !FILLER.test(identity.product.trim()) ? identity.product : '';
  const slug = product
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  const base = slug ? `${slug}-${mac.slice(-6)}` : `pc-${mac}`;
  for (let i = 1; i < 1000; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (NAME_PATTERN.test(name) && !taken(name)) return name;
  }
  throw conflictError(`no free name for a machine like ${base}: rename some machines`);
}

/** Whether the computer that booted is this machine: one of its MACs, or its SMBIOS UUID. Pure. */
export function isThisMachine(m: Pick<Machine, 'macs' | 'systemUuid'>, identity: HelloIdentity): boolean {
  if (identity.macs.some((mac) => m.macs.includes(mac))) return true;
  return m.systemUuid !== undefined && identity.uuid !== null && m.systemUuid === identity.uuid.toLowerCase();
}

export class MediumTokens {
  constructor(
    private readonly db: ManagementStore,
    private readonly jobTokens: AgentTokens,
    private readonly hub: EventHub,
  ) {}

  /** A new medium for one machine (by name) or for registration: its record and the token to write on it. */
  async issue(o: { machine?: string; server: string; actor: string }): Promise<{ medium: Medium; token: string }> {
    const machine = o.machine === undefined ? null : await this.db.machines.getByName(o.machine);
    const token = randomBytes(32).toString('base64url');
    const medium = await this.db.media.add({ scope: machine ? 'machine' : 'registration', ...(machine ? { machineId: machine.id } : {}), tokenDigest: digest(token), server: o.server, createdBy: o.actor });
    await this.db.events.record({ actor: o.actor, action: 'bootmedia.create', subject: medium.id, details: { scope: medium.scope, ...(machine ? { machine: machine.name } : {}), server: o.server } });
    return { medium, token };
  }

  /** What a presented token may do as a medium's, or null (no such medium, or revoked). */
  async verify(token: string): Promise<MediumTokenScope | null> {
    if (typeof token !== 'string' || token.length > 256) return null;
    const m = await this.db.media.findByDigest(digest(token));
    if (!m || m.revokedAt) return null;
    return m.scope === 'machine' ? { kind: 'medium', mediumId: m.id, machineId: m.machineId as string } : { kind: 'registration', mediumId: m.id };
  }

  async revoke(id: string, actor: string): Promise<Medium> {
    const m = await this.db.media.revoke(id);
    await this.db.events.record({ actor, action: 'bootmedia.revoke', subject: m.id, details: { scope: m.scope } });
    return m;
  }

  /**
   * A hello with a medium's token: the one-job or inventory scope the hello is answered
   * for, and for a job the one-job token the agent uses from then on.
   */
  async forHello(scope: MediumTokenScope, identity: HelloIdentity): Promise<{ scope: TokenScope; jobToken?: string }> {
    await this.db.media.markUsed(scope.mediumId).catch(() => null);
    if (scope.kind === 'registration') return { scope: { kind: 'inventory', machineId: (await this.register(scope.mediumId, identity)).id } };
    const m = await this.db.machines.findById(scope.machineId);
    if (!m) throw notFoundError(`boot medium ${scope.mediumId} was made for a machine that has since been removed: make a new medium (\`lifeboat bootmedia --machine <name>\`) or a registration medium`);
    if (!isThisMachine(m, identity)) {
      throw conflictError(`boot medium ${scope.mediumId} was made for machine ${m.name} (MAC ${m.macs.join(', ')}), but it booted a computer with MAC ${identity.macs.join(', ') || 'none'}${identity.uuid ? ` and UUID ${identity.uuid}` : ''}: make a medium for this computer, or add its MAC to ${m.name}`);
    }
    const job = (await this.db.jobs.list({ machineId: m.id, state: ['waiting-for-boot', 'booting'], limit: 1 }))[0];
    if (!job || (job.type !== 'backup' && job.type !== 'restore')) return { scope: { kind: 'inventory', machineId: m.id } };
    if (job.state === 'waiting-for-boot') {
      const booting = await this.db.jobs.transition(job.id, 'boot').catch(() => null);
      if (booting) this.hub.publish({ type: 'job-state', jobId: job.id, state: booting.state });
    }
    const jobScope: TokenScope = { kind: 'job', jobId: job.id, machineId: m.id, jobType: job.type };
    return { scope: jobScope, jobToken: this.jobTokens.issue(jobScope) };
  }

  /** The computer a registration medium booted: found by MAC or UUID, else created from its inventory. */
  private async register(mediumId: string, identity: HelloIdentity): Promise<Machine> {
    for (const mac of identity.macs) {
      const known = await this.db.machines.findByMac(mac);
      if (known) return known;
    }
    if (identity.uuid) {
      const known = await this.db.machines.findBySystemUuid(identity.uuid).catch(() => null);
      if (known) return known;
    }
    if (identity.macs.length === 0) throw userError('the computer reported no network card with a MAC address: a machine is known by its MACs; check its NIC driver');
    const names = new Set((await this.db.machines.list({})).map((m) => m.name));
    const name = registrationName(identity, (n) => names.has(n));
    const m = await this.db.machines.add({
      name,
      macs: identity.macs.slice(0, 16),
      ...(identity.uuid ? { systemUuid: identity.uuid } : {}),
    });
    await this.db.events.record({ actor: 'boot', action: 'machine.register', subject: m.name, details: { medium: mediumId, macs: m.macs } });
    this.hub.publish({ type: 'log', level: 'info', message: `registered a new machine ${m.name} (MAC ${m.macs.join(', ')}) from boot medium ${mediumId}`, at: new Date().toISOString() });
    return m;
  }
}

/** The identity a hello body gives (its shape as agent-hello.ts checked it). Pure. */
export function helloIdentity(hello: { inventory: { smbios: { system: { uuid?: string | null | undefined; manufacturer?: string | null | undefined; product?: string | null | undefined } }; nics: Array<{ mac: string }> } }): HelloIdentity {
  const sys = hello.inventory.smbios.system;
  return { uuid: sys.uuid ?? null, manufacturer: sys.manufacturer ?? null, product: sys.product ?? null, macs: [...new Set(hello.inventory.nics.map((n) => n.mac.toLowerCase()))] };
}
