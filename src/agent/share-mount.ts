// Mounting the network share a backup job names (its destination), in the boot OS: the
// kernel's SMB client (cifs, in kernels/modules.list) through busybox `mount -t cifs`.
// Debian's busybox is built without its CIFS helper code, so it hands the options string to
// mount(2) as it is: the kernel then needs the server's address (`ip=`) unless the UNC holds
// one, and the agent resolves a host name itself. The password never appears in an argument
// vector (`ps`, /proc/<pid>/cmdline) or a log line: the options go into a one-line fstab file
// in /run (tmpfs, mode 0600, removed as soon as mount returns) that `mount -T <file> <dir>`
// reads. A comma cannot be passed at all (busybox drops the empty option of the kernel's ",,"
// escape): the appliance refuses such a password before the job exists, and so does this.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { externalError, userError } from '../errors.js';
import type { AgentDestination } from '../api/agent-wire.js';
import { SHARE_USERNAME, parseUnc, sharePasswordProblem } from '../api/unc.js';

/** The `share` case of the wire's AgentDestination (what the backup job's answer carries). */
export type ShareMountDestination = Extract<AgentDestination, { kind: 'share' }>;

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The effects mountShare uses: real ones by default, replaceable in unit tests. */
export interface ShareMountDeps {
  run(cmd: string, args: string[]): Promise<CommandResult>;
  /** host name → IPv4 address */
  resolve(host: string): Promise<string>;
  mountinfo(): string;
  /** where the one-line fstab file is written (tmpfs in the boot OS) */
  runDir: string;
}

/** Octal escapes for an fstab field (getmntent decodes them): space, tab, newline, backslash. */
export function fstabField(value: string): string {
  return value.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The cifs options string for mount(2). Pure; the destination must have passed checkShare. */
export function cifsOptions(dest: ShareMountDestination, address: string | null): string {
  const slash = dest.username.indexOf('\\');
  const user = slash >= 0 ? [`username=${dest.username.slice(slash + 1)}`, `domain=${dest.username.slice(0, slash)}`] : [`username=${dest.username}`];
  return [...user, `password=${dest.password}`, ...(address !== null ? [`ip=${address}`] : []), 'uid=0', 'gid=0', 'file_mode=0600', 'dir_mode=0700', 'soft'].join(',');
}

/** What is wrong with a share destination as the appliance sent it, or null. Pure; never quotes the password. */
export function checkShare(dest: ShareMountDestination): string | null {
  if (dest.type !== 'smb') return `share ${dest.name}: type ${JSON.stringify(String(dest.type).slice(0, 20))} is not one this agent mounts (smb)`;
  const unc = parseUnc(dest.unc);
  if (typeof unc === 'string') return `share ${dest.name}: its address ${unc}`;
  if (!SHARE_USERNAME.test(dest.username)) return `share ${dest.name}: user name ${JSON.stringify(dest.username.slice(0, 70))} is not one this agent can pass to the kernel`;
  const pw = sharePasswordProblem(dest.password);
  return pw === null ? null : `share ${dest.name}: its password ${pw}`;
}

/** The advice for a failed mount, from busybox's message (`mount: mounting … failed: <reason>`). Pure. */
export function mountFailureAdvice(dest: ShareMountDestination, host: string, stderr: string): string {
  const reason = /failed: (.*)$/m.exec(stderr)?.[1]?.trim() ?? stderr.trim().split('\n').pop() ?? '';
  const r = reason.toLowerCase();
  const user = `user ${dest.username}`;
  if (r.includes('permission denied') || r.includes('key has been rejected')) return `${host} refused ${user} for share ${dest.unc} (${reason}): check the user name and the password file of share ${dest.name} on the appliance, and that the user may use the share`;
  if (r.includes('no such device')) return `this boot OS has no SMB client (${reason}): rebuild it (make kernels, then lifeboat bootos build) so it carries the cifs module`;
  if (r.includes('no such file')) return `${host} has no share or folder ${dest.unc} (${reason}): check the unc of share ${dest.name} in the appliance's config`;
  if (/host is down|no route|unreachable|refused|timed out|resource temporarily/.test(r)) return `cannot reach the SMB server ${host} on port 445 from this machine (${reason}): check its address, that it runs, and the network or firewall between them`;
  if (r.includes('not supported') || r.includes('invalid argument')) return `${host} and this boot OS's SMB client did not agree on share ${dest.unc} (${reason}): the server must offer SMB 2.1 or later; the kernel log below says more`;
  return `mounting share ${dest.unc} failed (${reason || 'no message'}): the kernel log below says more`;
}

/** The mount at `at` from /proc/self/mountinfo text: its filesystem type, or null. Pure. */
export function mountedType(mountinfo: string, at: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const point = left?.split(' ')[4];
    if (point === undefined || right === undefined) continue;
    if (point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === at) return right.split(' ')[0] ?? null;
  }
  return null;
}

export const realDeps: ShareMountDeps = {
  run: (cmd, args) =>
    new Promise((resolve) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (e) => resolve({ code: null, stdout, stderr: `${stderr}${e.message}` }));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    }),
  resolve: async (host) => (await lookup(host, { family: 4 })).address,
  mountinfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
  runDir: '/run',
};

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Mounts share `dest` read-write at `at` (made if missing) and checks that it is mounted and
 * writable; returns the unmount (sync, then umount; a second call does nothing). Every failure
 * is a user error with the cause and what to check, never the password.
 */
export async function mountShare(dest: ShareMountDestination, at: string, log: (line: string) => void, deps: ShareMountDeps = realDeps): Promise<() => Promise<void>> {
  const problem = checkShare(dest);
  if (problem !== null) throw userError(`${problem}: the appliance sent a destination this agent cannot mount; check the share's settings in the appliance's config`);
  if (!isAbsolute(at) || normalize(at) !== at || at === '/' || /[\n\\]/.test(at)) throw userError(`cannot mount share ${dest.name} at ${JSON.stringify(at)}: the mount point must be a plain absolute path`);
  const unc = parseUnc(dest.unc) as Exclude<ReturnType<typeof parseUnc>, string>;
  let address: string | null = null;
  if (!IPV4.test(unc.host)) {
    try {
      address = await deps.resolve(unc.host);
    } catch (err) {
      throw userError(`cannot find the address of SMB server ${unc.host} (${(err as Error).message}): check the DNS server the boot network hands out, or name the server by its IP address in share ${dest.name}'s unc`);
    }
  }
  mkdirSync(at, { recursive: true });
  // cifs and the crypto it asks for (the kernel would also load them on demand)
  await deps.run('modprobe', ['-q', '-a', 'cifs', 'cmac', 'sha512_generic', 'ccm', 'gcm', 'ecb']);
  log(`mounting share ${dest.name} (${dest.unc} as ${dest.username}${address !== null ? `, ${unc.host} is ${address}` : ''}) at ${at}`);
  const table = join(deps.runDir, `lifeboat-share-${randomBytes(6).toString('hex')}.fstab`);
  let result: CommandResult;
  try {
    writeFileSync(table, `${fstabField(dest.unc)} ${fstabField(at)} cifs ${fstabField(cifsOptions(dest, address))} 0 0\n`, { mode: 0o600, flag: 'wx' });
    result = await deps.run('mount', ['-i', '-T', table, at]);
  } finally {
    rmSync(table, { force: true });
  }
  if (result.code !== 0) {
    const kernel = await deps.run('dmesg', []);
    const lines = kernel.stdout.split('\n').filter((l) => /cifs|smb/i.test(l)).slice(-3).map((l) => l.trim());
    throw userError(`${mountFailureAdvice(dest, unc.host, result.stderr)}${lines.length > 0 ? `; kernel: ${lines.join(' | ')}` : ''}`);
  }
  let mounted = true;
  const unmount = async (): Promise<void> => {
    if (!mounted) return;
    await deps.run('sync', []);
    let r = await deps.run('umount', [at]);
    for (let i = 0; i < 5 && r.code !== 0 && /busy/i.test(r.stderr); i++) {
      await new Promise((res) => setTimeout(res, 500));
      r = await deps.run('umount', [at]);
    }
    if (r.code !== 0) throw externalError(`umount ${at}`, r.stderr, r.code);
    mounted = false;
    log(`share ${dest.name} unmounted`);
  };
  const type = mountedType(deps.mountinfo(), at);
  if (type !== 'cifs' && type !== 'smb3') {
    throw userError(`mount said share ${dest.unc} is mounted at ${at}, but ${type === null ? 'nothing is mounted there' : `a ${type} filesystem is`}: this boot OS's mount is not what Lifeboat expects`);
  }
  const probe = join(at, `.lifeboat-write-check-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, 'lifeboat\n', { flag: 'wx' });
    unlinkSync(probe);
  } catch (err) {
    await unmount().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw userError(`share ${dest.unc} is mounted but user ${dest.username} cannot write to it (${code}): give the user write access to the share, or choose another destination`);
  }
  log(`share ${dest.name} mounted at ${at}`);
  return unmount;
}
