// The daemon's configuration: /etc/lifeboat/config.json (or --config), then flags.
// Boot-service settings are part of the schema already (the boot issue fills them in).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { describeSystemError, usageError } from '../errors.js';
import { DEFAULT_SOCKET } from '../api/client.js';

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
    boot: z
      .object({
        interface: z.string().optional(),
        dhcp: z.enum(['off', 'proxy', 'full']).optional(),
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
  boot: { interface?: string; dhcp: 'off' | 'proxy' | 'full' };
}

export function loadConfig(flags: { config?: string; dataDir?: string; socket?: string }): DaemonConfig {
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
    boot: { ...(file.boot?.interface ? { interface: file.boot.interface } : {}), dhcp: file.boot?.dhcp ?? 'off' },
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
