// Who uses a block device or a disk-image file, decided by device numbers over the kernel's
// view (never by comparing path strings): what is built on it (partitions, device-mapper and
// md holders, loop devices over it, recursively), what is mounted from any of those, what
// swaps on them, and what it is built on. Pure: the thin layer (kernel-read.ts) gives the view.
import type { BlockNode, DevNum, Identity, KernelView } from './kernel-view.js';

export type DeviceKind = 'disk' | 'partition' | 'loop' | 'dm' | 'md' | 'block' | 'file';

export interface Usage {
  kind: DeviceKind;
  /** Kernel name of a block device (sda, loop3, dm-0), or null (a file, or not in sysfs). */
  name: string | null;
  /** For a partition: its disk. */
  parent: string | null;
  /** For a loop device: its backing file and the window of it that it shows. */
  loop: { backingFile: string; offset: number; sizeLimit: number; backing: string | null; backingIsPartition: boolean } | null;
  /** Devices built on it, recursively: partitions, holders, loop devices over it. */
  above: string[];
  /** Of those, the ones that claim it: device-mapper, md and others in holders/ (not partitions, not loop devices). */
  holders: string[];
  /** Block devices it is built on, recursively: a partition's disk, a dm/md device's slaves, a loop's backing device. */
  below: string[];
  /** Mounts from it or from anything built on it. */
  mounts: Array<{ mountPoint: string; writable: boolean; device: string }>;
  /** Active swap on it or on anything built on it. */
  swaps: string[];
}

const MAX_DEPTH = 64;

function kindOf(node: BlockNode): DeviceKind {
  if (node.parent !== null) return 'partition';
  if (node.loop !== null) return 'loop';
  if (/^dm-\d+$/.test(node.name)) return 'dm';
  if (/^md\d+/.test(node.name)) return 'md';
  return 'disk';
}

const sameIdentity = (a: Identity, b: Identity): boolean => (a.kind === 'block' ? b.kind === 'block' && a.dev === b.dev : b.kind === 'file' && a.dev === b.dev && a.ino === b.ino);

class Graph {
  readonly byName = new Map<string, BlockNode>();
  readonly byDev = new Map<DevNum, BlockNode>();
  constructor(readonly view: KernelView) {
    for (const b of view.blocks) {
      this.byName.set(b.name, b);
      this.byDev.set(b.dev, b);
    }
  }

  /** Loop devices whose backing file is `id`. */
  loopsOver(id: Identity): BlockNode[] {
    return [...this.view.loopBacking].filter(([, b]) => sameIdentity(b, id)).flatMap(([name]) => this.byName.get(name) ?? []);
  }

  /** Nodes directly built on `node`. */
  up(node: BlockNode): BlockNode[] {
    const partitions = this.view.blocks.filter((b) => b.parent === node.name);
    const holders = node.holders.flatMap((h) => this.byName.get(h) ?? []);
    return [...partitions, ...holders, ...this.loopsOver({ kind: 'block', dev: node.dev })];
  }

  /** Nodes `node` is built on (block devices only). */
  down(node: BlockNode): BlockNode[] {
    const parent = node.parent !== null ? (this.byName.get(node.parent) ?? []) : [];
    const slaves = node.slaves.flatMap((s) => this.byName.get(s) ?? []);
    const backing = this.view.loopBacking.get(node.name);
    const loopDev = backing?.kind === 'block' ? (this.byDev.get(backing.dev) ?? []) : [];
    return [parent, slaves, loopDev].flat();
  }

  /** Breadth-first closure (cycle-safe, bounded), not including the start nodes. */
  closure(start: BlockNode[], step: (n: BlockNode) => BlockNode[]): BlockNode[] {
    const seen = new Set(start.map((n) => n.name));
    const out: BlockNode[] = [];
    let frontier = start;
    for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
      const next: BlockNode[] = [];
      for (const n of frontier.flatMap(step)) {
        if (seen.has(n.name)) continue;
        seen.add(n.name);
        out.push(n);
        next.push(n);
      }
      frontier = next;
    }
    return out;
  }
}

/** What `id` is and who uses it. */
export function usageOf(id: Identity, view: KernelView): Usage {
  const g = new Graph(view);
  const node = id.kind === 'block' ? (g.byDev.get(id.dev) ?? null) : null;
  const base = id.kind === 'file' ? g.loopsOver(id) : node ? [node] : [];
  const above = [...(id.kind === 'file' ? base : []), ...g.closure(base, (n) => g.up(n))];
  const below = node ? g.closure([node], (n) => g.down(n)) : [];
  const users = id.kind === 'file' ? above : [...base, ...above];
  const devs = new Set(users.map((n) => n.dev));
  if (id.kind === 'block') devs.add(id.dev);
  const nameOf = (dev: DevNum) => g.byDev.get(dev)?.name ?? dev;
  const mounts = view.mounts
    .filter((m) => devs.has(m.dev) || (m.sourceDev !== null && devs.has(m.sourceDev)))
    .map((m) => ({ mountPoint: m.mountPoint, writable: m.writable, device: nameOf(devs.has(m.dev) ? m.dev : (m.sourceDev as DevNum)) }));
  const swaps = view.swaps.filter((s) => s.id !== null && ((s.id.kind === 'block' && devs.has(s.id.dev)) || sameIdentity(s.id, id))).map((s) => s.path);
  const backing = node ? view.loopBacking.get(node.name) : undefined;
  const backingNode = backing?.kind === 'block' ? (g.byDev.get(backing.dev) ?? null) : null;
  return {
    kind: node ? kindOf(node) : id.kind === 'file' ? 'file' : 'block',
    name: node?.name ?? null,
    parent: node?.parent ?? null,
    loop: node?.loop ? { ...node.loop, backing: backingNode?.name ?? null, backingIsPartition: (backingNode?.parent ?? null) !== null } : null,
    above: above.map((n) => n.name),
    holders: above.filter((n) => n.parent === null && n.loop === null && !view.loopBacking.has(n.name)).map((n) => n.name),
    below: below.map((n) => n.name),
    mounts,
    swaps,
  };
}

/**
 * The block devices that hold the appliance's own system: for each role ("/", "swap", "the
 * store"…) the device of its filesystem (through the mount's source when the filesystem has
 * an anonymous device, like btrfs), and everything that device is built on — down through
 * partitions, dm/md slaves and loop devices, and for a loop over a file, the device holding
 * that file. Returns device name → the roles it holds.
 */
export function systemDevices(view: KernelView, roles: Array<{ role: string; dev: DevNum }>): Map<string, string[]> {
  const g = new Graph(view);
  const out = new Map<string, string[]>();
  const nodesOfFs = (dev: DevNum): BlockNode[] => {
    const direct = g.byDev.get(dev);
    if (direct) return [direct];
    return view.mounts.filter((m) => m.dev === dev && m.sourceDev !== null).flatMap((m) => g.byDev.get(m.sourceDev as DevNum) ?? []);
  };
  const downIntoFiles = (n: BlockNode): BlockNode[] => {
    const backing = view.loopBacking.get(n.name);
    return [...g.down(n), ...(backing?.kind === 'file' ? nodesOfFs(backing.dev) : [])];
  };
  for (const { role, dev } of roles) {
    const start = nodesOfFs(dev);
    for (const n of [...start, ...g.closure(start, downIntoFiles)]) out.set(n.name, [...new Set([...(out.get(n.name) ?? []), role])]);
  }
  return out;
}
