// SMB share addresses and credentials as Lifeboat accepts them, checked the same way where
// the config names a share (src/daemon/shares.ts) and where the agent mounts it
// (src/agent/share-mount.ts): `//host/share[/dir…]` with an IPv4 address or a host name, and
// nothing the boot OS's `mount -t cifs` options string cannot carry (comma, '=', control
// characters). Pure; a problem is returned as a message, never thrown.

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** A share or folder name: what SMB allows, less what the boot OS's mount options cannot carry (comma, '='). */
const SEGMENT = /^[A-Za-z0-9_$][A-Za-z0-9 ._$-]{0,79}$/;
/** `user` or `DOMAIN\user`. */
export const SHARE_USERNAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\)?[A-Za-z0-9_][A-Za-z0-9._$-]{0,63}$/;

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
