// A real SMB file server for the lab: Samba's smbd inside a test's network namespace (the VM
// lab's `<tag>n`, where the appliance side is 10.219.0.1 on the bridge), with everything private
// to a temp directory: its config file, its state/lock/cache/pid directories, its password
// database (tdbsam, filled by `smbpasswd -a -c <config>`) and the shared directory. It listens
// on `address`:445 only (bind interfaces only). The SMB user maps to the Unix user root (a
// username map in the same directory: no account is added to this machine), so files the
// clients write appear owned by root. stop() ends the smbd it started (its process group) and
// nothing else; the directory is the caller's.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SmbShare {
  /** the share's name (the part after the host in //host/share) */
  readonly name: string;
  /** the UNC form clients mount: //address/name */
  readonly unc: string;
  readonly username: string;
  readonly password: string;
  /** the shared directory on this machine (where the client's files appear) */
  readonly dir: string;
  /** smbd's log so far */
  log(): string;
  stop(): Promise<void>;
}

export interface SmbShareOptions {
  /** the network namespace smbd runs in */
  ns: string;
  /** the address it listens on (must already be on an interface of `ns`) */
  address: string;
  /** a private directory for config, state and the shared directory */
  dir: string;
  name?: string;
  username?: string;
  password?: string;
}

function run(cmd: string, args: string[], input = ''): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Starts smbd in `ns` serving a fresh directory; resolves once it accepts connections on `address`:445. */
export async function startSmbShare(o: SmbShareOptions): Promise<SmbShare> {
  const name = o.name ?? 'lifeboat';
  const username = o.username ?? 'backup';
  const password = o.password ?? `pw-${process.pid}-Share`;
  const dir = join(o.dir, 'share');
  const priv = join(o.dir, 'samba');
  for (const d of [dir, priv, join(priv, 'private'), join(priv, 'lock'), join(priv, 'state'), join(priv, 'cache'), join(priv, 'pid'), join(priv, 'ncalrpc')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const usermap = join(priv, 'users.map');
  writeFileSync(usermap, `root = ${username}\n`);
  const config = join(priv, 'smb.conf');
  writeFileSync(config, [
    '[global]',
    '  server role = standalone server',
    `  interfaces = ${o.address}/32`,
    '  bind interfaces only = yes',
    '  smb ports = 445',
    '  disable netbios = yes',
    '  server min protocol = SMB2_10',
    `  private dir = ${join(priv, 'private')}`,
    `  lock directory = ${join(priv, 'lock')}`,
    `  state directory = ${join(priv, 'state')}`,
    `  cache directory = ${join(priv, 'cache')}`,
    `  pid directory = ${join(priv, 'pid')}`,
    `  ncalrpc dir = ${join(priv, 'ncalrpc')}`,
    `  passdb backend = tdbsam:${join(priv, 'private', 'passdb.tdb')}`,
    `  username map = ${usermap}`,
    '  map to guest = never',
    '  load printers = no',
    '  printcap name = /dev/null',
    '  disable spoolss = yes',
    `  log file = ${join(priv, 'log.%m')}`,
    '  log level = 1',
    '',
    `[${name}]`,
    `  path = ${dir}`,
    '  read only = no',
    '  valid users = root',
    '',
  ].join('\n'));
  // the password goes on smbpasswd's stdin (-s), twice: new and confirmation
  run('smbpasswd', ['-c', config, '-s', '-a', 'root'], `${password}\n${password}\n`);
  const smbd = spawn('ip', ['netns', 'exec', o.ns, 'smbd', '--foreground', '--no-process-group', '--debug-stdout', `--configfile=${config}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  smbd.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  smbd.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => smbd.once('exit', () => r()));
  const share: SmbShare = {
    name,
    unc: `//${o.address}/${name}`,
    username,
    password,
    dir,
    log: () => log,
    stop: async () => stopSmbd(smbd, exited),
  };
  // ready when a TCP connection to :445 in the namespace succeeds (bash's /dev/tcp)
  for (let i = 0; i < 100; i++) {
    if (smbd.exitCode !== null) break;
    const probe = spawnSync('ip', ['netns', 'exec', o.ns, 'bash', '-c', `exec 3<>/dev/tcp/${o.address}/445`], { encoding: 'utf8' });
    if (probe.status === 0) return share;
    await new Promise((r) => setTimeout(r, 100));
  }
  await share.stop();
  throw new Error(`smbd did not start listening on ${o.address}:445 in ${o.ns}: ${log.slice(-2000)}`);
}

async function stopSmbd(smbd: ChildProcess, exited: Promise<void>): Promise<void> {
  if (smbd.exitCode !== null || smbd.signalCode !== null || smbd.pid === undefined) return;
  // smbd forks a child per client: its process group (detached: its own) goes together
  try {
    process.kill(-smbd.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (smbd.pid !== undefined) process.kill(-smbd.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
