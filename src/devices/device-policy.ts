// What a backup may read and a restore may write, as pure decisions over an inspected path.
// Two rules: inUseRefusal (root's local commands and every engine run: never read a disk
// whose filesystem changes under the reader, never write one the system uses) and
// daemonRefusal (a daemon job, asked for by any operator: a whole disk that is not the
// appliance's own, or a disk-image file under the docked directory; then inUseRefusal).
import type { Inspected } from './kernel-read.js';

export type DeviceOperation = 'backup' | 'restore';

const list = (xs: string[]) => [...new Set(xs)].join(', ');

/** " (through loop1, built on it)" when a mount or swap is on a device other than the target itself. */
function through(d: Inspected, devices: string[]): string {
  const others = [...new Set(devices.filter((n) => n !== d.name))];
  return others.length > 0 ? ` (through ${others.join(', ')}, built on it)` : '';
}

/** Why `d` must not be read (backup) or written (restore) now, or null. */
export function inUseRefusal(op: DeviceOperation, d: Inspected): string | null {
  const p = d.path;
  const again = op === 'backup' ? 'back up again' : 'restore again';
  const viaLoops = d.type === 'file' && d.above.length > 0 ? ` (it is the backing file of ${d.above.filter((n) => n.startsWith('loop')).join(', ') || d.above.join(', ')})` : '';
  if (d.swaps.length > 0) {
    return `${p} holds active swap (${list(d.swaps)})${viaLoops}: run \`swapoff ${list(d.swaps).replace(/, /g, ' ')}\` and ${again}`;
  }
  if (op === 'backup') {
    const rw = d.mounts.filter((m) => m.writable);
    if (rw.length > 0) {
      return `${p} is mounted read-write at ${list(rw.map((m) => m.mountPoint))}${through(d, rw.map((m) => m.device))}${viaLoops}: its image would be torn; unmount it (or remount it read-only) and ${again}`;
    }
    return null;
  }
  if (d.mounts.length > 0) {
    return `${p} is mounted at ${list(d.mounts.map((m) => m.mountPoint))}${through(d, d.mounts.map((m) => m.device))}${viaLoops}: unmount it before restoring onto it`;
  }
  if (d.holders.length > 0) {
    return `${p} is held by ${list(d.holders)} (device-mapper, md or LVM built on it): remove them (\`dmsetup remove\`, \`mdadm --stop\`, \`vgchange -an\`) before restoring onto it`;
  }
  if (d.claimed) {
    return `${p} is busy: the kernel has it claimed (a mounted filesystem, device-mapper, md or swap uses it): release it before restoring onto it`;
  }
  return null;
}

export interface DaemonContext {
  /** The docked directory, every symlink resolved. */
  dockedDir: string;
  /** Device name → the system roles it holds (systemDevices). */
  system: Map<string, string[]>;
}

/** What a daemon job may use, said to the operator after what was wrong. */
export function allowedDevices(dockedDir: string): string {
  return `a job's device is a whole disk docked in the appliance (a block device such as /dev/sdb: not a partition, not the appliance's own system disk) or a disk-image file under ${dockedDir}`;
}

/** Why a daemon job must not use `d`, or null. */
export function daemonRefusal(op: DeviceOperation, d: Inspected, ctx: DaemonContext): string | null {
  const p = d.path;
  const allowed = allowedDevices(ctx.dockedDir);
  const inside = (resolved: string | null) => resolved !== null && resolved.startsWith(`${ctx.dockedDir.replace(/\/$/, '')}/`);
  const resolvedNote = d.resolved !== null && d.resolved !== p ? ` (it resolves to ${d.resolved})` : '';
  switch (d.type) {
    case 'missing':
      if (d.danglingSymlink) return `${p} is a symlink to nothing: ${allowed}`;
      if (op === 'restore' && inside(d.resolved)) return null; // a new disk-image file in the docked directory
      return `${p} does not exist${resolvedNote}: ${allowed}`;
    case 'directory':
      return `${p} is a directory, not a disk: ${allowed}`;
    case 'other':
      return `${p} is neither a block device nor a regular file: ${allowed}`;
    case 'file':
      if (!inside(d.resolved)) return `${p} is a file outside ${ctx.dockedDir}${resolvedNote}: ${allowed}`;
      return inUseRefusal(op, d);
    case 'block':
      break;
  }
  if (d.name === null || d.kind === 'block') return `${p} is a block device the kernel does not list in /sys/class/block: ${allowed}`;
  if (d.kind === 'partition') return `${p} is partition ${d.name} of disk ${d.parent}, not a whole disk: give the disk (/dev/${d.parent}); ${allowed}`;
  if (d.kind === 'dm' || d.kind === 'md') return `${p} is ${d.name}, a ${d.kind === 'dm' ? 'device-mapper' : 'md RAID'} device, not a whole disk: give the disk under it${d.below.length ? ` (${d.below.join(', ')})` : ''}; ${allowed}`;
  if (d.kind === 'loop' && d.loop) {
    if (d.loop.offset !== 0 || d.loop.sizeLimit !== 0 || d.loop.backingIsPartition) {
      return `${p} is ${d.name}, a loop device over part of ${d.loop.backingFile}${d.loop.offset || d.loop.sizeLimit ? ` (offset ${d.loop.offset}, size limit ${d.loop.sizeLimit})` : ''}: a partition, not a whole disk; ${allowed}`;
    }
  }
  const related = ctx.system.has(d.name) ? [d.name] : [...new Set([...d.below, ...d.above])];
  const holding = related.flatMap((n) => (ctx.system.has(n) ? [`${n} holds ${list(ctx.system.get(n) ?? [])}`] : []));
  if (holding.length > 0) {
    return `${p} is the appliance's own system disk (${holding.join('; ')}): it is never a backup or restore target; ${allowed}`;
  }
  return inUseRefusal(op, d);
}
