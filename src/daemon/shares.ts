// Network shares the appliance names as backup destinations (`lifeboat backup --to share:<name>`).
// The daemon config's `shares` maps a name to an SMB share: its UNC `//host/share[/dir…]`, the
// user the agent logs in as, the file holding the password (root's, mode 0600: read when a job
// starts, never stored in the database, logged or printed), and optionally `localPath`, where
// the appliance itself reaches the share's files (to import or verify what an agent wrote).
// resolveShare() turns a name into the destination a backup job hands its agent; every
// problem is a user error that says what to fix before any job exists.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { userError } from '../errors.js';
import { readPassphraseFile } from './passphrase-file.js';

/** What the agent gets in its backup job (the `share` case of the wire's AgentDestination). */
export interface ShareDestination {
  kind: 'share';
  name: string;
  type: 'smb';
  unc: string;
  username: string;
  password: string;
}

export interface ShareConfig {
  type: 'smb';
  unc: string;
  username: string;
  passwordFile: string;
  localPath?: string;
}

export const SHARE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** A share or folder name: what SMB allows, less what the boot OS's mount options cannot carry (comma, '='). */
const SEGMENT = /^[A-Za-z0-9_$][A-Za-z0-9 ._$-]{0,79}$/;
/** `user` or `DOMAIN\user`. */
const USERNAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\)?[A-Za-z0-9_][A-Za-z0-9._$-]{0,63}$/;

export interface Unc {
  host: string;
  share: string;
  /** folders below the share, '/'-separated, or '' */
  path: string;
}

/** `//host/share[/dir…]` → its parts, or a message saying what is wrong with it. Pure. */
export function parseUnc(unc: string): Unc | string {
  if (unc.length > 512) return 'is longer than 512 characters';
  if (unc.includes('\\')) return 'uses backslashes: write it with forward slashes, like //nas.example/backups';
  const m = /^\/\/([^/]*)\/([\s\S]*)$/.exec(unc);
  if (!m) return 'is not of the form //host/share';
  const host = m[1] as string;
  const rest = (m[2] as string).replace(/\/$/, '').split('/');
  if (!(IPV4.test(host) || (HOST_NAME.test(host) && !/^[\d.]+$/.test(host)))) return `has host ${JSON.stringify(host)}, which is not an IPv4 address or a host name`;
  for (const seg of rest) {
    if (seg === '') return 'has an empty share or folder name (two slashes in a row?)';
    if (seg === '.' || seg === '..' || !SEGMENT.test(seg) || seg.endsWith(' ')) return `has ${JSON.stringify(seg.slice(0, 80))}, which is not a share or folder name this appliance accepts (letters, digits, space, . _ $ -; not . or ..)`;
  }
  return { host, share: rest[0] as string, path: rest.slice(1).join('/') };
}

/** What is wrong with a share password for the boot OS's `mount -t cifs`, or null. Pure; never quotes it. */
export function sharePasswordProblem(password: string): string | null {
  if (password.length === 0) return 'is empty';
  if (password.length > 256) return 'is longer than 256 characters';
  // eslint-disable-next-line no-control-regex -- the check is exactly for control characters
  if (/[\u0000-\u001f\u007f]/.test(password)) return 'holds a control character';
  // busybox mount drops the empty option the kernel's ",," escape relies on: a comma cannot reach cifs
  if (password.includes(',')) return 'holds a comma, which the boot OS cannot pass to the kernel\'s SMB client: choose a password without commas';
  return null;
}

export const ShareConfigSchema = z
  .object({
    type: z.literal('smb'),
    unc: z.string().superRefine((v, ctx) => {
      const r = parseUnc(v);
      if (typeof r === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(v.slice(0, 80))} ${r}` });
    }),
    username: z.string().regex(USERNAME, 'must be a user name like backup or DOMAIN\\backup (letters, digits, . _ - $)'),
    passwordFile: z.string().min(1).max(4096).refine((v) => isAbsolute(v), 'must be an absolute path, like /etc/lifeboat/nas.password'),
    localPath: z.string().min(1).max(4096).refine((v) => isAbsolute(v), 'must be an absolute path (where this appliance mounts the share)').optional(),
  })
  .strict();

export const SharesSchema = z.record(z.string(), ShareConfigSchema).superRefine((shares, ctx) => {
  for (const name of Object.keys(shares)) {
    if (!SHARE_NAME.test(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'a share name is 1-32 lower-case letters, digits, _ or -, starting with a letter or digit' });
  }
});

/** The config's shares, paths normalized (the schema has checked them). */
export function sharesOf(file: z.infer<typeof SharesSchema> | undefined): Record<string, ShareConfig> {
  const out: Record<string, ShareConfig> = {};
  for (const [name, s] of Object.entries(file ?? {})) {
    out[name] = { type: 'smb', unc: s.unc.replace(/\/$/, ''), username: s.username, passwordFile: resolve(s.passwordFile), ...(s.localPath !== undefined ? { localPath: resolve(s.localPath) } : {}) };
  }
  return out;
}

/** The share `name` of the config, checked for use now (its password file read and checked). */
export function resolveShare(config: { shares: Record<string, ShareConfig> }, name: string): ShareDestination {
  const known = Object.keys(config.shares);
  const share = SHARE_NAME.test(name) && Object.hasOwn(config.shares, name) ? config.shares[name] : undefined;
  if (share === undefined) {
    const shown = JSON.stringify(name.slice(0, 40));
    throw userError(known.length === 0
      ? `no share named ${shown}: the config names no shares; add one under "shares" in the daemon's config (type, unc, username, passwordFile) and restart it`
      : `no share named ${shown}: the config names ${known.sort().join(', ')}; use one of them or add it under "shares" in the daemon's config`);
  }
  const unc = parseUnc(share.unc);
  if (typeof unc === 'string') throw userError(`share ${name}: unc ${JSON.stringify(share.unc.slice(0, 80))} ${unc}`);
  const password = readPassphraseFile(share.passwordFile, `share ${name}'s password file`, { groupMayRead: false });
  const problem = sharePasswordProblem(password);
  if (problem !== null) throw userError(`share ${name}: the password in ${share.passwordFile} ${problem}`);
  return { kind: 'share', name, type: 'smb', unc: share.unc, username: share.username, password };
}
