// Writing a boot medium onto a whole USB disk: allowed only for a whole block device that is
// not the appliance's own disk and not in use (the device checks restore jobs use: device
// numbers and the kernel's view, src/devices), after the operator confirmed what will be
// overwritten (model, serial, size, partitions) or gave --yes. The ISO is built into a
// temporary file first; the disk is opened once, exclusively (O_EXCL: the kernel refuses a
// disk something holds), its identity compared with what was checked, written, fsynced, its
// buffers flushed, then read back and compared byte for byte (by SHA-256).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalError, integrityError, usageError, userError } from '../errors.js';
import { formatBytes } from '../format.js';
import { escapeForTerminal } from '../text.js';
import { type Inspected, devNumOf, inUseRefusal, inspectDevice, readKernelView } from '../devices/index.js';
import { applianceSystemDevices } from '../daemon/device-policy.js';
import { partitionsOf } from '../daemon/local-devices.js';
import { describeDisk } from '../imaging/disk.js';
import { type BootMediaOptions, writeBootMedia } from './boot-media.js';

const STEP = 1 << 20;

/** What --out names: true for a block device (written as a disk), false for a file to create. */
export function isBlockDevice(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}

/** Why a boot medium must not be written onto `d`, or null. Pure (over the inspection). */
export function mediumTargetRefusal(d: Inspected, system: Map<string, string[]>): string | null {
  const p = d.path;
  const allowed = 'a boot medium goes to a file (--out lifeboat.iso) or onto a whole USB disk that nothing uses (such as /dev/sdc)';
  if (d.type !== 'block') return `${p} is not a block device: ${allowed}`;
  if (d.name === null || d.kind === 'block') return `${p} is a block device the kernel does not list in /sys/class/block: ${allowed}`;
  if (d.kind === 'partition') return `${p} is partition ${d.name} of disk ${d.parent}, not a whole disk: the medium needs the whole disk (/dev/${d.parent}), and everything on it is overwritten`;
  if (d.kind === 'dm' || d.kind === 'md') return `${p} is ${d.name}, a ${d.kind === 'dm' ? 'device-mapper' : 'md RAID'} device, not a whole disk: ${allowed}`;
  if (d.kind === 'loop' && d.loop && (d.loop.offset !== 0 || d.loop.sizeLimit !== 0 || d.loop.backingIsPartition)) return `${p} is ${d.name}, a loop device over part of ${d.loop.backingFile}: a partition, not a whole disk; ${allowed}`;
  const related = system.has(d.name) ? [d.name] : [...new Set([...d.below, ...d.above])];
  const holding = related.flatMap((n) => (system.has(n) ? [`${n} holds ${[...new Set(system.get(n) ?? [])].join(', ')}`] : []));
  if (holding.length > 0) return `${p} is the appliance's own disk (${holding.join('; ')}): a boot medium never goes there; ${allowed}`;
  const busy = inUseRefusal('restore', d);
  return busy === null ? null : busy.replace('before restoring onto it', 'before writing a boot medium onto it');
}

export interface DiskFacts {
  path: string;
  model: string | null;
  serial: string | null;
  sizeBytes: number;
  partitions: Array<{ path: string; sizeBytes: number; fsType: string | null; label: string | null }>;
}

/** What the operator confirms: the disk and everything on it that goes (names from the disk are escaped for the terminal). Pure. */
export function overwriteQuestion(facts: DiskFacts, isoBytes: number): string {
  const e = (v: string | null) => (v === null ? null : escapeForTerminal(v));
  const disk = { ...facts, model: e(facts.model), serial: e(facts.serial), partitions: facts.partitions.map((p) => ({ ...p, label: e(p.label), fsType: e(p.fsType) })) };
  const parts = disk.partitions.length === 0 ? ['  no partitions found'] : disk.partitions.map((p) => `  ${p.path}  ${formatBytes(p.sizeBytes)}${p.fsType ? `  ${p.fsType}` : ''}${p.label ? `  "${p.label}"` : ''}`);
  return [
    `Write the boot medium (${formatBytes(isoBytes)}) onto ${disk.path}: ${disk.model ?? 'unknown model'}, serial ${disk.serial ?? 'unknown'}, ${formatBytes(disk.sizeBytes)}.`,
    'Everything on it is lost:',
    ...parts,
  ].join('\n');
}

export interface DeviceWriteOptions {
  /** Overwrite without asking. */
  yes: boolean;
  /** Asks on the terminal; false when there is none (then --yes is needed). */
  confirm: (question: string) => Promise<boolean>;
  /** For the appliance's own disks: its data directory (the store is below it). */
  dataDir: string;
  interactive: boolean;
}

/** Inspects `path` and throws a user error when a boot medium must not be written onto it. */
export function checkMediumTarget(path: string, dataDir: string): Inspected {
  const view = readKernelView();
  const d = inspectDevice(path, view);
  const refusal = mediumTargetRefusal(d, applianceSystemDevices({ dataDir, store: join(dataDir, 'store'), dockedDir: join(dataDir, 'docked') }, view));
  if (refusal !== null) throw userError(refusal);
  return d;
}

/** Builds the medium and writes it onto the whole disk `path`, checked, confirmed, read back. */
export async function writeMediumToDevice(path: string, media: Omit<BootMediaOptions, 'out'>, o: DeviceWriteOptions): Promise<{ bytes: number; sha256: string }> {
  const check = () => checkMediumTarget(path, o.dataDir);
  const before = check();
  const info = describeDisk(before.canonical);
  const disk: DiskFacts = { path: before.canonical, model: info.model ?? null, serial: info.serial ?? null, sizeBytes: info.size, partitions: await partitionsOf(before.canonical, info.size, info.logicalSectorSize) };
  const stage = mkdtempSync(join(tmpdir(), 'lifeboat-medium-'));
  try {
    const isoPath = join(stage, 'medium.iso');
    const built = writeBootMedia({ ...media, out: isoPath });
    if (built.bytes > disk.sizeBytes) throw userError(`${disk.path} is ${formatBytes(disk.sizeBytes)}; the boot medium needs ${formatBytes(built.bytes)}: use a larger USB disk`);
    if (!o.yes) {
      const question = overwriteQuestion(disk, built.bytes);
      if (!o.interactive) throw usageError(`writing the boot medium overwrites ${disk.path} (${escapeForTerminal(disk.model ?? 'unknown model')}, serial ${escapeForTerminal(disk.serial ?? 'unknown')}, ${formatBytes(disk.sizeBytes)}, ${disk.partitions.length} partition(s)): add --yes to confirm`);
      if (!(await o.confirm(question))) throw userError(`nothing was written to ${disk.path}: not confirmed`);
    }
    const d = check(); // again: the disk may have been mounted (or swapped) while the operator read the question
    if (d.identity?.kind !== 'block' || before.identity?.kind !== 'block' || d.identity.dev !== before.identity.dev) throw userError(`${path} is another device now: check what changed, then try again`);
    const iso = readFileSync(isoPath);
    await writeExclusive(disk.path, d.identity.dev, iso, disk.sizeBytes);
    const back = await readBack(disk.path, iso.length);
    if (back !== built.sha256) throw integrityError(`${disk.path} does not read back what was written (SHA-256 ${back}, expected ${built.sha256}): the disk may be failing or fake; use another one`);
    return built;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Writes `data` at the start of the disk (opened O_EXCL, identity compared), clears its last MiB (a stale backup GPT), fsyncs. */
async function writeExclusive(path: string, dev: string, data: Buffer, diskSize: number): Promise<void> {
  let fh;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_EXCL | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBUSY') throw userError(`${path} is busy: the kernel has it claimed (mounted, swap, device-mapper or md): release it, then try again`);
    throw userError(`${path} cannot be opened for writing: ${(err as Error).message}`);
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isBlockDevice() || devNumOf(st.rdev) !== dev) throw userError(`${path} changed while it was checked: try again`);
    for (let at = 0; at < data.length; at += STEP) await fh.write(data, at, Math.min(STEP, data.length - at), at);
    const tail = Math.max(data.length, diskSize - STEP);
    if (diskSize > tail) await fh.write(Buffer.alloc(diskSize - tail), 0, diskSize - tail, tail);
    await fh.sync();
  } finally {
    await fh.close();
  }
  // What is read back must come from the disk, not from the page cache the write filled.
  const r = spawnSync('blockdev', ['--flushbufs', path], { encoding: 'utf8' });
  if (r.status !== 0) throw externalError(`blockdev --flushbufs ${path}`, r.error?.message ?? r.stderr, r.status);
}

async function readBack(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(STEP);
    for (let at = 0; at < bytes; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(STEP, bytes - at), at);
      if (bytesRead === 0) throw integrityError(`${path} ended at byte ${at} while reading the medium back (${bytes} bytes written)`);
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
