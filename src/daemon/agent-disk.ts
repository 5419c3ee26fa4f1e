// Decisions about the disk an agent reports for its job, as pure functions of records:
// whether it is the job's disk, and which earlier image of the same machine's disk a backup
// continues (its lineage: same machine and disk serial, or without a serial the same device
// name and size; never another machine's image, whatever serial it claims).
import type { DiskIdentity } from '../api/agent-wire.js';
import type { Job } from '../db/index.js';

/** Why the disk the agent chose is not the job's, or null. Pure. */
export function diskMismatch(job: Pick<Job, 'diskSerial' | 'devicePath'>, disk: DiskIdentity, machine: string): string | null {
  if (job.diskSerial !== undefined && disk.serial !== job.diskSerial) {
    return `the job is for disk ${job.diskSerial} of ${machine}; the agent chose ${disk.name} (serial ${disk.serial ?? 'unknown'}): check the disks in \`lifeboat machines show ${machine}\` and start the job again`;
  }
  if (job.diskSerial === undefined && job.devicePath !== undefined && job.devicePath !== `/dev/${disk.name}`) {
    return `the job is for ${job.devicePath} of ${machine}; the agent chose /dev/${disk.name}: start the job again naming the disk by its serial`;
  }
  return null;
}

/** The newest image of this machine's disk made with the store's chunk size, from the database's records (newest first). Pure. */
export function parentOf(records: Array<{ id: string; machineId?: string; diskSerial?: string; sourcePath: string; diskSize: number; chunkSize: number }>, o: { machineId: string; disk: DiskIdentity; chunkSize: number }): string | null {
  for (const r of records) {
    if (r.machineId !== o.machineId || r.chunkSize !== o.chunkSize) continue;
    const same = o.disk.serial ? r.diskSerial === o.disk.serial : r.diskSerial === undefined && r.sourcePath === `/dev/${o.disk.name}` && r.diskSize === o.disk.sizeBytes;
    if (same) return r.id;
  }
  return null;
}
