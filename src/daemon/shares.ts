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
import type { AgentDestination } from '../api/agent-wire.js';
import { SHARE_NAME } from '../api/destination.js';
import { SHARE_USERNAME, parseUnc, sharePasswordProblem } from '../api/unc.js';
import { readPassphraseFile } from './passphrase-file.js';

/** What the agent gets in its backup job (the `share` case of the wire's AgentDestination). */
export type ShareDestination = Extract<AgentDestination, { kind: 'share' }>;

export interface ShareConfig {
  type: 'smb';
  unc: string;
  username: string;
  passwordFile: string;
  localPath?: string;
}

export const ShareConfigSchema = z
  .object({
    type: z.literal('smb'),
    unc: z.string().superRefine((v, ctx) => {
      const r = parseUnc(v);
      if (typeof r === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(v.slice(0, 80))} ${r}` });
    }),
    username: z.string().regex(SHARE_USERNAME, 'must be a user name like backup or DOMAIN\\backup (letters, digits, . _ - $)'),
    passwordFile: z.string().min(1).max(4096).refine((v) => isAbsolute(v), 'must be an absolute path, like /etc/lifeboat/nas.password'),
    localPath: z.string().min(1).max(4096).refine((v) => isAbsolute(v), 'must be an absolute path (where this appliance mounts the share)').optional(),
  })
  .strict();

export const SharesSchema = z.record(z.string(), ShareConfigSchema).superRefine((shares, ctx) => {
  for (const name of Object.keys(shares)) {
    if (!SHARE_NAME.test(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'a share name is 1-63 letters, digits, ., _ or -, starting with a letter or digit (what `--to share:<name>` accepts)' });
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
