// What travels over the API, declared here and nowhere else: the records clients see,
// the live events, the reports, the error body. These are the wire's own types, not the
// database's or the engine's: the daemon maps its records onto them field by field
// (src/daemon/wire-records.ts), so a field added to a NeDB document never leaks out by
// accident, and a field that changes shape fails to compile there. No imports: this file
// (with route-table.ts and schemas.ts) is what the agent bundles into the boot OS.

export const JOB_TYPES = ['backup', 'restore', 'verify', 'inventory'] as const;
export type JobType = (typeof JOB_TYPES)[number];
/** Where a machine's backup goes (src/api/destination.ts parses the operator's `--to`); absent: the appliance. */
export type JobDestination = { kind: 'client-disk'; label: string } | { kind: 'client-disk'; uuid: string } | { kind: 'share'; name: string };

export const JOB_STATES = ['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];

export type BootLoader = 'auto' | 'ipxe' | 'ipxe-full' | 'signed';
export type LocalBoot = 'exit' | 'sanboot';
export type BootStageName = 'dhcp' | 'loader' | 'script' | 'kernel' | 'agent';

export interface Machine {
  id: string;
  name: string;
  macs: string[];
  /** 'discovered': found by a network boot, waiting for the operator; 'ignored': never booted into Lifeboat. Absent: a machine the operator manages. */
  status?: 'discovered' | 'ignored';
  bootLoader?: BootLoader;
  localBoot?: LocalBoot;
  /** The IPv4 address the full DHCP server gives this machine, and nobody else. */
  fixedAddress?: string;
  /** How far its last network boot got. */
  bootStage?: { stage: BootStageName; at: string; detail?: string };
  systemUuid?: string;
  vendor?: string;
  model?: string;
  serial?: string;
  inventory?: {
    cpu?: { model?: string; cores?: number; threads?: number; arch?: string };
    memoryBytes?: number;
    firmware?: 'bios' | 'uefi';
    nics?: { name?: string; mac: string; driver?: string; speedMbps?: number }[];
    collectedAt?: string;
  };
  group?: string;
  notes?: string;
  /** Its backups are protected by the passphrase in this file (the path: the passphrase itself never leaves the appliance's disk). */
  passphraseFile?: string;
  lastSeen?: string;
  createdAt: string;
  updatedAt: string;
  /** What its schedules promise (absent when no enabled schedule backs it up): overdue when its last good backup is older than the last firing, 2 h of grace given. */
  backupPromise?: { schedule: string; dueAt: string; lastGood: string | null; overdue: boolean };
}

export interface Disk {
  id: string;
  machineId: string;
  devicePath: string;
  model?: string;
  serial?: string;
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  partitions: {
    table: 'gpt' | 'mbr' | 'none' | 'unknown';
    /** start and size in bytes; type is a GPT type GUID or an MBR type byte as text ("0x83"). */
    entries: Array<{ number: number; start: number; size: number; type?: string; filesystem?: string; label?: string }>;
  };
  lastSeen: string;
  createdAt: string;
}

export type MachineWithDisks = Machine & { disks: Disk[] };

/** An image as listed: what its manifest says, and what only the appliance knows (owner, protection). */
export interface ImageRecord {
  id: string;
  label: string | null;
  host: string;
  createdAt: string;
  completedAt: string;
  diskSize: number;
  /** The smallest disk it can be restored onto (its partitions must fit). */
  minTargetBytes?: number;
  chunkSize: number;
  chunkCount: number;
  bytesNew: number;
  storedBytesNew: number;
  parent: string | null;
  sourcePath: string;
  sourceKind: 'block' | 'file' | 'stream';
  diskModel?: string;
  diskSerial?: string;
  hasPassphrase: boolean;
  machineId?: string;
  protected: boolean;
  /** Where its chunks are when not in the appliance's store: `client-disk LABEL=<label>`, `client-disk UUID=<uuid>`, `share <name>` (absent: the appliance; `lifeboat images import` brings it in). */
  location?: string;
}

/** POST /images/:image/import → the image, now in the appliance's store. */
export interface ImageImportResult {
  image: ImageRecord;
  /** Chunks copied into the appliance's store; chunks it already held. */
  chunksCopied: number;
  chunksPresent: number;
}

/** An image's manifest as the store holds it (GET /v1/images/:id): the on-disk format, documented in the README. */
export type ImageManifest = { id: string } & Record<string, unknown>;

export interface Job {
  id: string;
  type: JobType;
  state: JobState;
  machineId?: string;
  diskSerial?: string;
  devicePath?: string;
  imageId?: string;
  scheduleId?: string;
  /** A backup's label, given to the image it makes. */
  label?: string;
  /** A machine's job: what its agent does beyond the type (end: reboot or poweroff; restore: verify, verifyFirst, growLast). */
  options?: { end?: 'reboot' | 'poweroff'; verify?: boolean; verifyFirst?: boolean; growLast?: boolean; destination?: JobDestination };
  /** The disk the machine's agent chose, as it reported it when the job started. */
  agentDisk?: { name: string; sizeBytes: number; logicalSectorSize: number; physicalSectorSize: number; model?: string; serial?: string };
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  /** Final numbers (bytes read, new, stored…), set when the job ends. */
  stats?: Record<string, number>;
  /** The last checkpoint (at most every 10 s), never per-second progress. */
  progress?: { bytesDone: number; bytesTotal: number; at: string };
  /** 'timer' or an operator name. */
  /** What the job did, in words, when it ended (a cancelled restore says the target is incomplete). */
  outcome?: string;
  /** A restore stopped after it began writing: the target disk holds part of the image. */
  targetIncomplete?: boolean;
  requestedBy: string;
  /** The machine's name (for a machine's job), as the operator knows it. */
  machineName?: string;
  /** Every state it went through, with when, oldest first. */
  history?: Array<{ state: JobState; at: string }>;
  /** Its log lines, oldest first (the newest 200 are kept). */
  log?: Array<{ at: string; level: 'info' | 'warning' | 'error'; message: string }>;
  /** How many older log lines were dropped. */
  logDropped?: number;
}

/** Live progress of a running job (in memory on the daemon, never in the database). */
export interface ProgressEvent {
  type: 'progress';
  operation: 'backup' | 'restore' | 'verify' | 'export';
  imageId: string;
  bytesDone: number;
  bytesTotal: number;
  bytesNew: number;
  bytesReused: number;
  bytesZero: number;
  storedBytes: number;
  chunksDone: number;
  chunksTotal: number;
  rateBps: number;
  avgBps: number;
  ratio: number;
  etaSeconds: number | null;
  elapsedMs: number;
}

export type JobView = Job & { live?: ProgressEvent };

export type ScheduleTarget = { machines: string[] } | { group: string } | { devices: string[] };

export interface Schedule {
  id: string;
  name: string;
  target: ScheduleTarget;
  calendar: string;
  retention: { keepLast?: number; daily?: number; weekly?: number; monthly?: number };
  enabled: boolean;
  /** Its backups are protected by the passphrase in this file (the path only). */
  passphraseFile?: string;
  /** Where its machines' backups go (absent: the appliance); each run's jobs carry it. */
  destination?: JobDestination;
  createdAt: string;
  updatedAt: string;
  lastRunAt?: string;
}

/** A boot medium the daemon made: what its token may do (never the token or its digest). */
export interface BootMedium {
  id: string;
  /** machine: boots that machine (its waiting job, if any); registration: creates the machine that boots it. */
  scope: 'machine' | 'registration';
  machineId?: string;
  /** The machine's name, while it exists. */
  machine?: string;
  server: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** A new boot medium and the parameters to write on it (the token appears here once). */
export interface NewBootMedium {
  medium: BootMedium;
  /** retrySeconds: the daemon's agent.retrySeconds, the medium's lifeboat.retry */
  params: { url: string; token: string; fingerprint: string | null; retrySeconds?: number };
}

/** A schedule with when it fires next (UTC ISO time, null when never). */
export type ScheduleView = Schedule & { nextRun: string | null; /** Why its timer could not be set up (it will not fire by itself). */ warnings?: string[] };

export interface ScheduleRunResult {
  schedule: string;
  jobs: Job[];
  /** Targets whose job could not be created (busy disk, missing device…), with why. */
  refused: Array<{ target: string; error: string }>;
}

export interface GcReport {
  images: number;
  chunksKept: number;
  chunksRemoved: number;
  bytesRemoved: number;
  tempFilesRemoved: number;
  dryRun: boolean;
}

export interface PruneReport {
  /** The schedule pruned, or "images" for a prune of the whole store by a given policy. */
  schedule: string;
  /** Removed (in a dry run: what would be). */
  removed: string[];
  kept: string[];
  /** Protected images the policy would have removed. */
  protectedKept: string[];
  /** Every image considered, newest first per source: what the policy does with it and which rules keep it. */
  decisions: Array<{ id: string; source: string; completedAt: string; action: 'keep' | 'remove' | 'protected'; reasons: string[] }>;
  /** Nothing was removed: this is what a prune would do. */
  dryRun: boolean;
  /** The schedule's destination: its images there are not pruned (retention prunes the appliance's store only). */
  destination?: JobDestination;
  gc: GcReport | { skipped: string };
}

export interface AuditEvent {
  id: string;
  /** 1, 2, 3… in insertion order. */
  seq: number;
  at: string;
  /** 'timer' or an operator name. */
  actor: string;
  /** What was done, like "machine.add" or "job.cancel". */
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

/** The live event stream (GET /v1/events, Server-Sent Events). */
export type LiveEvent =
  | { type: 'job-progress'; jobId: string; progress: ProgressEvent }
  | { type: 'job-state'; jobId: string; state: string; error?: string }
  | { type: 'log'; jobId?: string; level: 'info' | 'warning' | 'error'; message: string; at: string };

export interface ApiErrorBody {
  error: { kind: string; message: string; issues?: string[] };
}

export interface Health {
  ok: true;
  version: string;
  pid: number;
  uptimeSeconds: number;
  activeJobs: number;
  store: string;
  dataDir: string;
  /** Read-only when a write failed (a full disk…): reads still work, changes are refused until the daemon restarts. */
  database: { writable: boolean; problem?: string };
}

/** The appliance's throughput over the last hour (GET /v1/appliance/throughput), for the wall dashboard: one sample per interval, oldest first. */
export interface ThroughputHistory {
  intervalSeconds: number;
  /** bytesPerSecond: the sum of the rates of the jobs moving at `at`. */
  samples: Array<{ at: string; bytesPerSecond: number }>;
}

/** What the Appliance screen and the wall dashboard show (GET /v1/appliance). */
export interface ApplianceStatus {
  version: string;
  node: string;
  hostname: string;
  uptimeSeconds: number;
  dataDir: string;
  socket: string;
  /** Each service the daemon runs, or will run once the boot issues land ('off'). */
  services: Array<{ name: string; state: 'running' | 'off' | 'failed'; detail: string; address?: string; counters?: Record<string, number> }>;
  interfaces: Array<{ name: string; mac: string; addresses: string[] }>;
  dhcpMode: 'off' | 'proxy' | 'full';
  store: {
    path: string;
    /** The filesystem holding the store. */
    fsBytes: number;
    fsFreeBytes: number;
    images: number;
    chunks: number;
    /** Compressed bytes of all chunk files. */
    storedBytes: number;
    /** Sum of the disk sizes the images describe: logical bytes protected. */
    logicalBytes: number;
    /** logicalBytes / storedBytes (0 when empty): what dedup, zero padding and LZ4 save together. */
    reduction: number;
  };
  jobs: { active: number; running: number };
  /**
   * The agent API: the URL agents are sent to (null with the boot services off) and the
   * SHA-256 fingerprint of the appliance's certificate they pin, AA:BB:… as
   * `openssl x509 -noout -fingerprint -sha256` prints it. plainHttp: the lab setting
   * boot.agentPlainHttp is on (agents are sent to plain HTTP).
   */
  agentApi?: { url: string | null; fingerprint: string; plainHttp: boolean };
}

/** A disk attached to the appliance itself (GET /v1/devices): what an operator docks to back up or restore. */
export interface LocalDevice {
  path: string;
  model: string | null;
  serial: string | null;
  sizeBytes: number;
  logicalSectorSize: number;
  /** Mounted anywhere (or holds the appliance's own filesystems): never a restore target. */
  inUse: boolean;
  /** A disk, or a disk-image file in the docked directory (absent from older daemons: a disk). */
  kind?: 'disk' | 'file';
  /** For the appliance's own system disk: what it holds ("/ (the root filesystem), the image store"); never a backup or restore target. */
  system?: string | null;
  partitions: Array<{ path: string; sizeBytes: number; fsType: string | null; label: string | null }>;
}
