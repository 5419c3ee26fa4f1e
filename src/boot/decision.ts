// What a network boot does, decided per machine: one pure function of the records, used
// by the iPXE script (HTTP) and the GRUB config (TFTP) alike, so both loaders always agree.
//
// - a machine with a job waiting for its boot → the Lifeboat boot OS, for that job;
// - an unknown machine while discovery is on → the boot OS in inventory mode (it says
//   hello and is listed as discovered); so does a discovered machine whose inventory has
//   not arrived yet (once it has, it boots its disk until the operator gives it a job);
// - anything else (no job, a known machine whose last job failed, discovery off) → the
//   local disk, the way the machine is set to leave the network boot.

export type Firmware = 'bios' | 'uefi';

/** How a machine leaves the network boot: iPXE `exit` (UEFI: the firmware's next boot option) or `sanboot` of the first BIOS disk. */
export type LocalBoot = 'exit' | 'sanboot';

/** What the daemon knows about the machine that asks. */
export interface BootRecord {
  /** Absent: the MAC and UUID belong to no machine. */
  machine?: { id: string; name: string; localBoot?: LocalBoot; ignored?: boolean; needsInventory?: boolean };
  /** The job waiting for this machine's boot, with its one-job token. */
  job?: { id: string; type: 'backup' | 'restore'; token: string };
}

export interface BootPolicy {
  /** Unknown machines boot the boot OS in inventory mode. */
  discovery: boolean;
}

export type BootAction =
  | { kind: 'boot-os'; mode: 'job'; machine: string; jobId: string; jobType: 'backup' | 'restore'; token: string }
  | { kind: 'boot-os'; mode: 'inventory' }
  | { kind: 'local-disk'; how: LocalBoot; reason: string };

/** The default way to the local disk: iPXE under BIOS cannot `exit` reliably into the next device, so it sanboots drive 0x80. */
export function defaultLocalBoot(firmware: Firmware): LocalBoot {
  return firmware === 'bios' ? 'sanboot' : 'exit';
}

export function decideBoot(firmware: Firmware, record: BootRecord, policy: BootPolicy): BootAction {
  const { machine, job } = record;
  if (machine?.ignored) return { kind: 'local-disk', how: machine.localBoot ?? defaultLocalBoot(firmware), reason: `${machine.name} is ignored by Lifeboat` };
  if (machine && job) return { kind: 'boot-os', mode: 'job', machine: machine.name, jobId: job.id, jobType: job.type, token: job.token };
  if (machine?.needsInventory && policy.discovery) return { kind: 'boot-os', mode: 'inventory' };
  if (machine) return { kind: 'local-disk', how: machine.localBoot ?? defaultLocalBoot(firmware), reason: `no job is waiting for ${machine.name}` };
  if (policy.discovery) return { kind: 'boot-os', mode: 'inventory' };
  return { kind: 'local-disk', how: defaultLocalBoot(firmware), reason: 'unknown machine and discovery is off' };
}
