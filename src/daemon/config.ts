// The daemon's configuration: /etc/lifeboat/config.json (or --config), then flags.
// boot.* configures the boot services (DHCP, TFTP, HTTP boot, the agent API over HTTPS) on
// one boot interface.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { describeSystemError, usageError } from '../errors.js';
import { DEFAULT_SOCKET } from '../api/constants.js';
import { NotifyConfigSchema } from '../notify/notification.js';
import { type ShareConfig, SharesSchema, sharesOf } from './shares.js';
import { DEFAULT_RETRY_SECONDS, RETRY_SECONDS } from '../bootos/params.js';

export const DEFAULT_CONFIG = '/etc/lifeboat/config.json';
export const DEFAULT_DATA_DIR = '/var/lib/lifeboat';

const ConfigFile = z
  .object({
    dataDir: z.string().min(1).optional(),
    socket: z.string().min(1).optional(),
    /** Group that may use the operator socket, by name (default "lifeboat" when it exists). */
    socketGroup: z.string().min(1).max(64).optional(),
    /** The same by number. */
    socketGid: z.number().int().nonnegative().optional(),
    store: z.string().min(1).optional(),
    /** Where disk-image files a daemon job may use live (default <dataDir>/docked). */
    dockedDir: z.string().min(1).optional(),
    /** Where schedule timers' drop-ins go; null turns schedule timers off. */
    scheduleTimerDir: z.string().min(1).nullable().optional(),
    /** Who hears of a failed schedule or verify (`lifeboat notify`, run by OnFailure=). */
    notify: NotifyConfigSchema.optional(),
    /** Network shares a backup may go to (`--to share:<name>`), by name: shares.ts. */
    shares: SharesSchema.optional(),
    /** The agents of machine jobs: how long one may go silent, how long a cancelled one has to say it stopped. */
    agent: z
      .object({
        /** A running agent job with no request for this long fails (default 10). */
        silenceMinutes: z.number().min(0.05).max(24 * 60).optional(),
        /** A cancelled agent job ends cancelled after this long even without the agent's word (default 60). */
        cancelSeconds: z.number().min(1).max(3600).optional(),
        /** How long an agent retries a request the appliance does not answer before its job fails, and then tries to report it (boot parameter lifeboat.retry; default 60). */
        retrySeconds: z.number().int(`must be a whole number of seconds (${RETRY_SECONDS.min} to ${RETRY_SECONDS.max})`).min(RETRY_SECONDS.min).max(RETRY_SECONDS.max).optional(),
      })
      .strict()
      .optional(),
    boot: z
      .object({
        /** The boot network's interface: every boot service binds to its address only. Absent: boot services off. */
        interface: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'is not an interface name').optional(),
        dhcp: z.enum(['off', 'proxy', 'full']).optional(),
        /** Full mode: the addresses handed out, "first-last". */
        dhcpRange: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}-\d{1,3}(\.\d{1,3}){3}$/, 'must be first-last, e.g. 10.0.0.100-10.0.0.199').optional(),
        router: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/)).max(4).optional(),
        dns: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/)).max(4).optional(),
        leaseSeconds: z.number().int().min(60).max(7 * 86400).optional(),
        httpPort: z.number().int().min(1).max(65535).optional(),
        tftpPort: z.number().int().min(1).max(65535).optional(),
        /** The agent API's HTTPS port on the boot interface (default 8443). */
        agentPort: z.number().int().min(1).max(65535).optional(),
        /** A lab setting: the agent API also over plain HTTP on the HTTP boot port, and agents are sent there (no TLS, no pinning). */
        agentPlainHttp: z.boolean().optional(),
        bootRoot: z.string().min(1).optional(),
        /** Unknown PXE clients become discovered machines and boot the boot OS to report their inventory. */
        discovery: z.boolean().optional(),
        wolPort: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export interface DaemonConfig {
  dataDir: string;
  socket: string;
  socketGid?: number;
  store: string;
  /** The only directory whose disk-image files a daemon job may read or write (block devices aside). */
  dockedDir: string;
  /** null: schedules fire only by `lifeboat schedule run` (no systemd here, or turned off). */
  scheduleTimerDir: string | null;
  boot: BootConfig;
  agent: AgentConfig;
  /** Named SMB shares (backup destinations); passwords stay in their files until a job reads them. */
  shares: Record<string, ShareConfig>;
}

export interface AgentConfig {
  /** A running agent job with no request for this long fails with advice. */
  silenceMs: number;
  /** A cancelled agent job ends cancelled after this long without the agent's `end`. */
  cancelMs: number;
  /** The agents' retry window (boot parameter lifeboat.retry), in seconds. */
  retrySeconds: number;
}

export interface BootConfig {
  interface?: string;
  dhcp: 'off' | 'proxy' | 'full';
  dhcpRange?: { start: string; end: string };
  router?: string[];
  dns?: string[];
  leaseSeconds: number;
  httpPort: number;
  tftpPort: number;
  /** HTTPS, the appliance's own certificate, agents pin its fingerprint */
  agentPort: number;
  /** a lab setting: the agent API on the plain HTTP boot port too, and boot parameters point agents there */
  agentPlainHttp: boolean;
  bootRoot: string;
  discovery: boolean;
  wolPort: number;
}

/** Flags of `lifeboat serve` that set boot.* (they win over the file). */
export interface BootFlags {
  interface?: string;
  dhcp?: string;
  dhcpRange?: string;
  httpPort?: string;
  tftpPort?: string;
  agentPort?: string;
  bootRoot?: string;
}

function port(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw usageError(`${flag} must be a port number from 1 to 65535, not ${JSON.stringify(value)}`);
  return Number(value);
}

function rangeOf(text: string | undefined, where: string): { start: string; end: string } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})-(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (!m) throw usageError(`${where} must be first-last, e.g. 10.0.0.100-10.0.0.199, not ${JSON.stringify(text)}`);
  return { start: m[1] as string, end: m[2] as string };
}

export function loadConfig(flags: { config?: string; dataDir?: string; socket?: string; boot?: BootFlags }): DaemonConfig {
  const path = flags.config ?? DEFAULT_CONFIG;
  let file: z.infer<typeof ConfigFile> = {};
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (flags.config !== undefined || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw describeSystemError(err, `config file ${path}`);
  }
  if (text !== null && text.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw usageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    const r = ConfigFile.safeParse(json);
    if (!r.success) throw usageError(`config file ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    file = r.data;
  }
  const dataDir = resolve(flags.dataDir ?? file.dataDir ?? DEFAULT_DATA_DIR);
  return {
    dataDir,
    socket: resolve(flags.socket ?? file.socket ?? DEFAULT_SOCKET),
    ...socketGroupOf(file),
    store: resolve(file.store ?? join(dataDir, 'store')),
    dockedDir: resolve(file.dockedDir ?? join(dataDir, 'docked')),
    // Runtime units under systemd (written again at every start); off without systemd.
    scheduleTimerDir: file.scheduleTimerDir === undefined ? (existsSync('/run/systemd/system') ? '/run/systemd/system' : null) : file.scheduleTimerDir === null ? null : resolve(file.scheduleTimerDir),
    boot: bootConfig(file.boot ?? {}, flags.boot ?? {}, dataDir),
    agent: { silenceMs: Math.round((file.agent?.silenceMinutes ?? 10) * 60_000), cancelMs: Math.round((file.agent?.cancelSeconds ?? 60) * 1000), retrySeconds: file.agent?.retrySeconds ?? DEFAULT_RETRY_SECONDS },
    shares: sharesOf(file.shares),
  };
}

function bootConfig(file: NonNullable<z.infer<typeof ConfigFile>['boot']>, flags: BootFlags, dataDir: string): BootConfig {
  if (flags.dhcp !== undefined && !['off', 'proxy', 'full'].includes(flags.dhcp)) throw usageError(`--dhcp must be off, proxy or full, not ${JSON.stringify(flags.dhcp)}`);
  if (flags.interface !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(flags.interface)) throw usageError(`--interface ${JSON.stringify(flags.interface)} is not an interface name`);
  const iface = flags.interface ?? file.interface;
  const dhcp = (flags.dhcp as BootConfig['dhcp'] | undefined) ?? file.dhcp ?? 'off';
  const range = rangeOf(flags.dhcpRange, '--dhcp-range') ?? rangeOf(file.dhcpRange, 'boot.dhcpRange in the config');
  if (dhcp !== 'off' && iface === undefined) throw usageError(`DHCP ${dhcp} needs the boot interface: give --interface <ifname> (or boot.interface in the config)`);
  if (dhcp === 'full' && range === undefined) throw usageError('DHCP full hands out addresses: give --dhcp-range first-last (or boot.dhcpRange in the config)');
  return {
    ...(iface !== undefined ? { interface: iface } : {}),
    dhcp,
    ...(range ? { dhcpRange: range } : {}),
    ...(file.router ? { router: file.router } : {}),
    ...(file.dns ? { dns: file.dns } : {}),
    leaseSeconds: file.leaseSeconds ?? 3600,
    httpPort: port('--http-port', flags.httpPort) ?? file.httpPort ?? 80,
    tftpPort: port('--tftp-port', flags.tftpPort) ?? file.tftpPort ?? 69,
    agentPort: port('--agent-port', flags.agentPort) ?? file.agentPort ?? 8443,
    agentPlainHttp: file.agentPlainHttp ?? false,
    bootRoot: resolve(flags.bootRoot ?? file.bootRoot ?? join(dataDir, 'boot')),
    discovery: file.discovery ?? true,
    wolPort: file.wolPort ?? 9,
  };
}

/** The gid named in /etc/group text, or null. Pure. */
export function gidOfGroup(name: string, groupFile: string): number | null {
  for (const line of groupFile.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

/** socketGid from the config, else the group by name: the configured one must exist, "lifeboat" only if it does. */
function socketGroupOf(file: { socketGroup?: string; socketGid?: number }): { socketGid?: number } {
  if (file.socketGid !== undefined) return { socketGid: file.socketGid };
  let groups = '';
  try {
    groups = readFileSync('/etc/group', 'utf8');
  } catch {
    // no group file: only a numeric socketGid can name a group
  }
  const name = file.socketGroup ?? 'lifeboat';
  const gid = /^\d+$/.test(name) ? Number(name) : gidOfGroup(name, groups);
  if (gid === null && file.socketGroup !== undefined) throw usageError(`socketGroup ${JSON.stringify(name)} in the config is not a group: create it (groupadd --system ${name}) or fix the name`);
  return gid === null ? {} : { socketGid: gid };
}
