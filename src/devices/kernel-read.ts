// The thin layer that reads the kernel's view (sysfs, /proc) and resolves a path once:
// realpath, then stat, giving the identity every later check and open compares against.
import { constants, closeSync, openSync, readFileSync, readdirSync, realpathSync, statSync, lstatSync, type BigIntStats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type BlockNode, type DevNum, type Identity, type KernelView, devNumOf, parseBackingFile, parseDevNum, parseMountinfo, parseSwaps, parseSysfsNumber } from './kernel-view.js';
import { type Usage, usageOf } from './device-usage.js';

const SYS_BLOCK = '/sys/class/block';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function statBig(path: string): BigIntStats | null {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return null;
  }
}

/** The identity of what `path` names now (following symlinks), or null. */
export function identityOf(st: BigIntStats): Identity | null {
  if (st.isBlockDevice()) return { kind: 'block', dev: devNumOf(st.rdev) };
  if (st.isFile()) return { kind: 'file', dev: devNumOf(st.dev), ino: st.ino };
  return null;
}

function readBlockNode(name: string): BlockNode | null {
  const dir = `${SYS_BLOCK}/${name}`;
  const dev = parseDevNum(read(`${dir}/dev`) ?? '');
  if (dev === null) return null;
  let parent: string | null = null;
  if (read(`${dir}/partition`) !== null) {
    try {
      parent = basename(dirname(realpathSync(dir)));
    } catch {
      parent = null;
    }
  }
  const backing = parseBackingFile(read(`${dir}/loop/backing_file`) ?? '');
  return {
    name,
    dev,
    parent,
    holders: list(`${dir}/holders`),
    slaves: list(`${dir}/slaves`),
    loop: backing ? { backingFile: backing.path, offset: parseSysfsNumber(read(`${dir}/loop/offset`) ?? ''), sizeLimit: parseSysfsNumber(read(`${dir}/loop/sizelimit`) ?? '') } : null,
  };
}

/** Every block device, mount, swap area and loop backing file, as the kernel reports them now. */
export function readKernelView(): KernelView {
  const blocks = list(SYS_BLOCK).flatMap((name) => readBlockNode(name) ?? []);
  const blockDev = (path: string): DevNum | null => {
    if (!path.startsWith('/')) return null;
    const st = statBig(path);
    return st?.isBlockDevice() ? devNumOf(st.rdev) : null;
  };
  const mounts = parseMountinfo(read('/proc/self/mountinfo') ?? '').map((m) => ({ ...m, sourceDev: blockDev(m.source) }));
  const swaps = parseSwaps(read('/proc/swaps') ?? '').map((s) => {
    const st = statBig(s.path);
    return { ...s, id: st ? identityOf(st) : null };
  });
  const loopBacking = new Map<string, Identity>();
  for (const b of blocks) {
    if (!b.loop) continue;
    const st = statBig(b.loop.backingFile);
    const id = st ? identityOf(st) : null;
    if (id) loopBacking.set(b.name, id);
  }
  return { blocks, mounts, swaps, loopBacking };
}

export type PathType = 'block' | 'file' | 'missing' | 'directory' | 'other';

/** A path resolved once, with what it is and who uses it. */
export interface Inspected extends Usage {
  /** As given. */
  path: string;
  /** Every symlink resolved (for a missing file: its resolved directory joined with its name); null when it cannot be resolved. */
  resolved: string | null;
  type: PathType;
  /** The identity the target must still have when it is opened. */
  identity: Identity | null;
  /** /dev/<kernel name> for a block device whose node there is the same device; else the resolved path. */
  canonical: string;
  /** A block device the kernel will not open exclusively (EBUSY): mounted, held or swapped on, by whatever. */
  claimed: boolean;
  /** A missing path that is a dangling symlink. */
  danglingSymlink: boolean;
}

function resolvePath(path: string): { resolved: string | null; dangling: boolean } {
  try {
    return { resolved: realpathSync(path), dangling: false };
  } catch {
    // Missing: resolve its directory (a new file may be created there), never a dangling symlink.
    let dangling = false;
    try {
      dangling = lstatSync(path).isSymbolicLink();
    } catch {
      dangling = false;
    }
    try {
      const name = basename(path);
      if (name === '' || name === '.' || name === '..') return { resolved: null, dangling };
      return { resolved: `${realpathSync(dirname(path)).replace(/\/$/, '')}/${name}`, dangling };
    } catch {
      return { resolved: null, dangling };
    }
  }
}

/** Whether the kernel refuses an exclusive open of block device `path` (it is claimed). */
function claimedByKernel(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK));
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBUSY';
  }
}

/** Resolves `path` once and reports what it is and who uses it (for a block device or a regular file). */
export function inspectDevice(path: string, view: KernelView = readKernelView()): Inspected {
  const { resolved, dangling } = resolvePath(path);
  const st = resolved === null ? null : statBig(resolved);
  const identity = st ? identityOf(st) : null;
  const type: PathType = st === null ? 'missing' : st.isBlockDevice() ? 'block' : st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  const usage: Usage = identity ? usageOf(identity, view) : { kind: 'file', name: null, parent: null, loop: null, above: [], holders: [], below: [], mounts: [], swaps: [] };
  let canonical = resolved ?? path;
  if (identity?.kind === 'block' && usage.name !== null) {
    const node = statBig(`/dev/${usage.name}`);
    if (node?.isBlockDevice() && devNumOf(node.rdev) === identity.dev) canonical = `/dev/${usage.name}`;
  }
  return { ...usage, path, resolved, type, identity, canonical, claimed: type === 'block' && resolved !== null && claimedByKernel(resolved), danglingSymlink: dangling };
}

/** The devices (st_dev) of the filesystems holding each path that exists. */
export function filesystemsOf(paths: Array<{ role: string; path: string }>): Array<{ role: string; dev: DevNum }> {
  return paths.flatMap(({ role, path }) => {
    const st = statBig(path);
    return st ? [{ role, dev: devNumOf(st.dev) }] : [];
  });
}

/** The roles that make a disk the appliance's own: its root, boot and EFI filesystems, active swap, and the given data paths. */
export function systemRoles(view: KernelView, dataPaths: Array<{ role: string; path: string }>): Array<{ role: string; dev: DevNum }> {
  const fixed = [
    { role: '/ (the root filesystem)', path: '/' },
    { role: '/boot', path: '/boot' },
    { role: '/boot/efi', path: '/boot/efi' },
  ];
  const swaps = view.swaps.flatMap((s) => (s.id ? [{ role: `active swap ${s.path}`, dev: s.id.dev }] : []));
  const [root, ...boot] = filesystemsOf(fixed);
  // /boot and /boot/efi count only when they are filesystems of their own.
  return [...(root ? [root] : []), ...boot.filter((b) => b.dev !== root?.dev), ...filesystemsOf(dataPaths), ...swaps];
}
