// Who is on the other end of the operator socket: the peer's uid, for the audit trail.
// Node has no SO_PEERCRED; our small Node-API addon (native/peercred.c, built by `make
// build` into dist/native/) asks the kernel. Without it we ask the way ss(8) does
// (sock_diag): our end's inode (fstat) → the peer's inode → the process holding it → its
// real uid (/proc/<pid>/status); that needs to see other users' fds, which the hardened
// daemon may not. Then a user name from /etc/passwd. Parsers are pure.
import { execFile } from 'node:child_process';
import { existsSync, fstatSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

const ADDON = new URL('../../dist/native/peercred.node', import.meta.url);
type PeerCred = (fd: number) => { pid: number; uid: number; gid: number } | null;
let addon: PeerCred | null | undefined;

/** The SO_PEERCRED addon, or null when it was not built. */
export function peercredAddon(): PeerCred | null {
  if (addon === undefined) {
    try {
      addon = existsSync(ADDON) ? (createRequire(import.meta.url)(ADDON.pathname) as { peercred: PeerCred }).peercred : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  user: string;
}

interface SsLine {
  inode: number;
  peerInode: number;
  pids: number[];
}

/** `ss -xpnH` output: each Unix socket's inode, its peer's inode and the processes holding it. */
export function parseSsUnix(text: string): Map<number, SsLine> {
  const out = new Map<number, SsLine>();
  for (const line of text.split('\n')) {
    // Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode [users:(...)]
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+(?:\S+|\*)\s+(\d+)\s+(?:\S+|\*)\s+(\d+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const pids = [...(m[3] ?? '').matchAll(/pid=(\d+)/g)].map((p) => Number(p[1]));
    out.set(Number(m[1]), { inode: Number(m[1]), peerInode: Number(m[2]), pids });
  }
  return out;
}

/** The real uid in /proc/<pid>/status text, or null. */
export function uidFromStatus(text: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** The name /etc/passwd gives `uid`, else "uid N". */
export function userNameFor(uid: number, passwd: string): string {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && Number(f[2]) === uid && f[0]) return f[0];
  }
  return `uid ${uid}`;
}

function passwdText(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return ''; // no passwd file: the uid is named by number
  }
}

function ss(): Promise<string> {
  return new Promise((resolve, reject) => execFile('ss', ['-xpnH'], { timeout: 5000, maxBuffer: 16 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

/** The peer of an accepted Unix-socket connection, or null when it cannot be told (no ss, not allowed to see it). */
export async function peerCredentials(socket: Socket): Promise<PeerCredentials | null> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  const fromKernel = peercredAddon()?.(fd);
  if (fromKernel) return { pid: fromKernel.pid, uid: fromKernel.uid, user: userNameFor(fromKernel.uid, passwdText()) };
  try {
    const ours = fstatSync(fd).ino;
    const table = parseSsUnix(await ss());
    const peer = table.get(table.get(ours)?.peerInode ?? -1);
    const pid = peer?.pids[0];
    if (pid === undefined) return null;
    const uid = uidFromStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (uid === null) return null;
    return { pid, uid, user: userNameFor(uid, passwdText()) };
  } catch {
    return null;
  }
}

/**
 * The name the audit trail records. A peer we can identify is named by its uid; root may
 * speak for another name (the schedule timer runs as root and says "timer"). When the
 * peer cannot be identified, the name the client claims is kept, marked as claimed.
 */
export function actorName(peer: PeerCredentials | null, claimed: string | undefined): string {
  const claim = (claimed ?? '').slice(0, 64).trim();
  if (!peer) return claim ? `${claim} (claimed)` : 'unknown';
  if (peer.uid === 0 && claim) return claim;
  return peer.user;
}
