// Which of the machine's disks a job is for (pure): by serial when the job names one (a
// disk is known by its serial across boots), else by the kernel's name, else the only
// disk. Never a guess: a serial or name that matches nothing, or several disks when the
// job names none, is refused with the list, so the operator can say which.
import type { DiskChoice, DiskIdentity } from '../api/agent-wire.js';
import { userError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { DiskInfo } from './inventory.js';

export function describeDisks(disks: readonly DiskInfo[]): string {
  if (disks.length === 0) return '(none)';
  return disks.map((d) => `${d.name} ${formatBytes(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}${d.serial ? ` serial ${d.serial}` : ''}${d.removable ? ' (removable)' : ''}`).join('; ');
}

export function chooseDisk(disks: readonly DiskInfo[], choice: DiskChoice): DiskInfo {
  const usable = disks.filter((d) => d.sizeBytes > 0);
  if (choice.serial !== null) {
    const found = usable.filter((d) => d.serial === choice.serial);
    if (found.length === 1) return found[0] as DiskInfo;
    if (found.length > 1) throw userError(`${found.length} disks report serial ${choice.serial} (${describeDisks(found)}): refusing to guess; name the disk in the job (sda, nvme0n1)`);
    throw userError(`the job is for the disk with serial ${choice.serial}, and this machine has none: its disks are ${describeDisks(usable)}; check the machine is the right one, or edit the job's disk`);
  }
  if (choice.name !== null) {
    const found = usable.find((d) => d.name === choice.name);
    if (found) return found;
    throw userError(`the job is for disk ${choice.name}, and this machine has none: its disks are ${describeDisks(usable)}; edit the job's disk`);
  }
  // The boot medium (a USB stick) is removable: it does not count against "the only disk".
  const fixed = usable.filter((d) => !d.removable);
  const candidates = fixed.length > 0 ? fixed : usable;
  if (candidates.length === 1) return candidates[0] as DiskInfo;
  if (candidates.length === 0) throw userError('this machine has no disk the boot OS can see: check the disk controller is supported (lsmod) and the disk is connected');
  throw userError(`the job names no disk and this machine has ${candidates.length}: ${describeDisks(candidates)}; choose one in the job (by serial or name)`);
}

/** The disk as the job/start body tells the appliance. */
export function diskIdentity(d: DiskInfo): DiskIdentity {
  return { name: d.name, sizeBytes: d.sizeBytes, logicalSectorSize: d.logicalSectorSize, physicalSectorSize: d.physicalSectorSize, model: d.model, serial: d.serial };
}
