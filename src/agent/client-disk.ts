// A destination on a disk attached to the client (issue 15, claim 9): the filesystem the
// job names by label or UUID, found among the machine's disks and their partitions (sysfs
// and each device's first 64 KiB, read by volume-id.ts), never on the disk being backed up,
// mounted read-write with busybox `mount`. Refused with a clear message when it is not
// found, ambiguous, read-only, or a filesystem the boot OS cannot write. The choice is a
// pure function (chooseFilesystem); reading sysfs and mounting are the thin layer around it.
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AgentDestination } from '../api/agent-wire.js';
import { LifeboatError, userError } from '../errors.js';
import type { DiskInfo } from './inventory.js';
import { VOLUME_HEAD_BYTES, type VolumeId, volumeId, volumeMatches } from './volume-id.js';

export type ClientDiskDestination = Extract<AgentDestination, { kind: 'client-disk' }>;

/** A filesystem on one of the machine's disks. */
export interface Filesystem {
  /** Its kernel name: the whole disk (`vdb`) or a partition (`sdb1`). */
  device: string;
  /** The whole disk it is on. */
  disk: string;
  readOnly: boolean;
  volume: VolumeId;
}

/** How the destination is named, in words. */
export function destinationName(d: ClientDiskDestination): string {
  return d.label !== undefined ? `LABEL=${d.label}` : `UUID=${d.uuid}`;
}

const WRITABLE = new Set(['ext2', 'ext3', 'ext4', 'vfat', 'exfat']);

/** Modules a filesystem asks the kernel for when it is mounted. */
const MOUNT_NEEDS: Record<string, string[]> = { ext4: ['crc32c_intel', 'crc32c_generic'], vfat: ['nls_cp437', 'nls_iso8859_1', 'nls_ascii'], exfat: ['nls_utf8'] };

/**
 * The one filesystem `want` names. Throws a user error that says what to do when none is
 * found, when it is on the disk being backed up, when several match, when it is read-only
 * or when it is NTFS (the boot OS's kernel has no NTFS writer). Pure.
 */
export function chooseFilesystem(found: readonly Filesystem[], want: ClientDiskDestination, sourceDisk: string): Filesystem {
  const name = destinationName(want);
  const matches = found.filter((f) => volumeMatches(f.volume, want));
  const seen = found.map((f) => `${f.device} (${f.volume.type}${f.volume.label ? ` "${f.volume.label}"` : ''})`).join(', ') || 'none';
  if (matches.length === 0) throw userError(`no filesystem with ${name} on this machine's disks (filesystems seen: ${seen}): attach the disk, or check its label with e2label/fatlabel`);
  const elsewhere = matches.filter((f) => f.disk !== sourceDisk);
  if (elsewhere.length === 0) throw userError(`the filesystem with ${name} is on ${matches[0]?.device}, on disk ${sourceDisk}, the disk being backed up: an image cannot be stored on the disk it images; attach a separate disk`);
  if (elsewhere.length > 1) throw userError(`${elsewhere.length} filesystems have ${name} (${elsewhere.map((f) => f.device).join(', ')}): name the destination by its UUID instead (disk:UUID=…, see blkid)`);
  const f = elsewhere[0] as Filesystem;
  if (f.readOnly) throw userError(`the filesystem with ${name} (${f.device}) is on a read-only device: switch off the disk's write protection, or choose another`);
  if (!WRITABLE.has(f.volume.type)) throw userError(`the filesystem with ${name} (${f.device}) is ${f.volume.type}, which the boot OS cannot write: use an ext4, FAT32 or exFAT filesystem`);
  return f;
}

function readAttr(path: string): string | null {
  try {
    return readFileSync(path, 'latin1').trim();
  } catch {
    return null;
  }
}

/** The first VOLUME_HEAD_BYTES of a device, or null when it cannot be read. */
export function readHead(path: string): Buffer | null {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(VOLUME_HEAD_BYTES);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Every filesystem on `disks`: each partition (sysfs `<disk>/<part>/partition`), or the whole disk when it has none. */
export function findFilesystems(disks: readonly DiskInfo[], o: { root: string; devicePath: (name: string) => string; read?: (path: string) => Buffer | null }): Filesystem[] {
  const read = o.read ?? readHead;
  const out: Filesystem[] = [];
  for (const d of disks) {
    const dir = join(o.root, 'sys/block', d.name);
    const diskRo = readAttr(join(dir, 'ro')) === '1';
    let parts: string[] = [];
    try {
      parts = readdirSync(dir)
        .filter((p) => p.startsWith(d.name) && /^[A-Za-z0-9_.-]{1,64}$/.test(p) && readAttr(join(dir, p, 'partition')) !== null)
        .sort();
    } catch {
      // no sysfs entry: the whole disk only
    }
    for (const device of parts.length > 0 ? parts : [d.name]) {
      const head = read(o.devicePath(device));
      const volume = head ? volumeId(head) : null;
      if (!volume) continue;
      const ro = diskRo || (device !== d.name && readAttr(join(dir, device, 'ro')) === '1');
      out.push({ device, disk: d.name, readOnly: ro, volume });
    }
  }
  return out;
}

/**
 * The disks a backup naming no disk chooses from: every disk but those holding the
 * destination's filesystem (a USB disk attached for the backup is not the one to image).
 * When that leaves none, all of them (chooseFilesystem then says the destination is on the
 * disk being backed up). No disk holding it at all: the error that says so.
 */
export function disksBesideDestination(disks: readonly DiskInfo[], want: ClientDiskDestination, o: { root: string; devicePath: (name: string) => string; read?: (path: string) => Buffer | null }): readonly DiskInfo[] {
  const found = findFilesystems(disks, o);
  const holders = new Set(found.filter((f) => volumeMatches(f.volume, want)).map((f) => f.disk));
  if (holders.size === 0) chooseFilesystem(found, want, ''); // throws: no such filesystem, said before anything else
  const rest = disks.filter((d) => !holders.has(d.name));
  return rest.length > 0 ? rest : disks;
}

const run = promisify(execFile);

async function command(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: unknown };
    throw new LifeboatError('external', `${cmd} ${args.join(' ')} failed: ${(e.stderr || e.message).trim().slice(0, 400)}`);
  }
}

export interface MountOptions {
  disks: readonly DiskInfo[];
  /** The disk being backed up (its filesystems are never a destination). */
  sourceDisk: string;
  root: string;
  devicePath: (name: string) => string;
  log: (line: string) => void;
}

/**
 * Finds the filesystem `dest` names and mounts it read-write at `at`, checking a file can
 * be written there. Returns the unmount (sync first). Throws a user error when the choice
 * is refused, an external error when mount fails.
 */
export async function mountClientDisk(dest: ClientDiskDestination, at: string, o: MountOptions): Promise<() => Promise<void>> {
  const found = findFilesystems(o.disks, o);
  const fs = chooseFilesystem(found, dest, o.sourceDisk);
  const type = fs.volume.type.startsWith('ext') ? 'ext4' : fs.volume.type; // the ext4 driver mounts ext2 and ext3
  // The driver and what it asks the kernel for at mount time (ext4: the crc32c of its
  // checksums; FAT/exFAT: character sets), loaded first: the boot OS has no usermode helper
  // for the kernel's own module requests. A module built in or missing: mount says what fails.
  for (const m of [type, ...(MOUNT_NEEDS[type] ?? [])]) await command('modprobe', [m]).catch(() => {});
  mkdirSync(at, { recursive: true });
  const device = o.devicePath(fs.device);
  o.log(`mounting ${fs.device} (${fs.volume.type}, ${destinationName(dest)}) at ${at}`);
  await command('mount', ['-t', type, '-o', 'rw,noatime', device, at]);
  const unmount = async () => {
    await command('sync', []).catch(() => {});
    await command('umount', [at]);
  };
  try {
    const probe = join(at, '.lifeboat-write-check');
    writeFileSync(probe, 'lifeboat\n');
    rmSync(probe);
  } catch (err) {
    await unmount().catch(() => {});
    throw userError(`the filesystem with ${destinationName(dest)} (${fs.device}) was mounted but cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the disk (fsck) or choose another`);
  }
  return unmount;
}
