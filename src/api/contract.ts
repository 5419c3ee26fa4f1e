// The operator API's contract, shared by the daemon, the CLI and (later) the TUI,
// dashboard and agent: request-body schemas (zod), response types, the error body, and
// the route list. Version prefix /v1. Bodies are JSON, at most MAX_BODY bytes.
import { z } from 'zod';
import type { ProgressEvent } from '../imaging/progress.js';
import type { AuditEvent, Disk, ImageRecord, Job, Machine, Schedule } from '../store/index.js';
export type { LiveEvent } from '../daemon/event-hub.js';

export { API_PREFIX, MAX_BODY, OPERATOR_HEADER, scheduleTargetText } from './constants.js';

const name = z.string().min(1).max(63);
const mac = z.string().min(1).max(64);
const devicePath = z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'must be an absolute path');
const imageId = z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/, 'is not an image id (see `lifeboat images list`)');

export const NewMachineBody = z
  .object({
    name,
    macs: z.array(mac).min(1).max(16),
    group: z.string().max(63).optional(),
    notes: z.string().max(4096).optional(),
    vendor: z.string().max(256).optional(),
    model: z.string().max(256).optional(),
    serial: z.string().max(256).optional(),
    systemUuid: z.string().max(64).optional(),
  })
  .strict();
export type NewMachineBody = z.infer<typeof NewMachineBody>;

export const MachinePatchBody = NewMachineBody.partial().strict();
export type MachinePatchBody = z.infer<typeof MachinePatchBody>;

const diskRef = z.string().min(1).max(256);
/** A job runs on a disk docked in the appliance (`device`) or on a machine's disk (`machine`, optional `disk` serial or path: none = every disk of it). */
const onOneTarget = (b: { device?: string | undefined; machine?: string | undefined; disk?: string | undefined }) => (b.device === undefined) !== (b.machine === undefined) && !(b.disk !== undefined && b.machine === undefined);
const targetMessage = 'name either a device (a disk docked in the appliance) or a machine (with an optional disk), not both';
export const NewJobBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('backup'), device: devicePath.optional(), machine: name.optional(), disk: diskRef.optional(), label: z.string().max(256).optional() }).strict().refine(onOneTarget, targetMessage),
  z
    .object({ type: z.literal('restore'), image: imageId, device: devicePath.optional(), machine: name.optional(), disk: diskRef.optional(), confirm: z.literal(true, 'restore overwrites the device: send "confirm": true'), verify: z.boolean().optional() })
    .strict()
    .refine(onOneTarget, targetMessage),
  z.object({ type: z.literal('verify'), image: imageId }).strict(),
]);
export type NewJobBody = z.infer<typeof NewJobBody>;

const retentionCount = z.number().int().min(1).max(10000).optional();
export const NewScheduleBody = z
  .object({
    name,
    machines: z.array(name).min(1).max(1000).optional(),
    group: name.optional(),
    devices: z.array(devicePath).min(1).max(64).optional(),
    calendar: z.string().min(1).max(256),
    retention: z.object({ keepLast: retentionCount, daily: retentionCount, weekly: retentionCount, monthly: retentionCount }).strict().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => [b.machines, b.group, b.devices].filter((t) => t !== undefined).length === 1, 'name machines, a group, or devices docked in the appliance: exactly one of them');
export type NewScheduleBody = z.infer<typeof NewScheduleBody>;


export const ScheduleRunBody = z
  .object({
    /** Machine jobs fail when their machine has not booted within this many seconds (default 3600). */
    bootTimeoutSeconds: z.number().int().min(1).max(7 * 86400).optional(),
  })
  .strict();
export type ScheduleRunBody = z.infer<typeof ScheduleRunBody>;
export type { PruneReport, ScheduleRunResult } from '../daemon/schedule-actions.js';

/** A schedule with when it fires next (UTC ISO time, null when never). */
export type ScheduleView = Schedule & { nextRun: string | null; /** Why its timer could not be set up (it will not fire by itself). */ warnings?: string[] };

export interface ApiErrorBody {
  error: { kind: string; message: string; issues?: string[] };
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
  services: Array<{ name: string; state: 'running' | 'off' | 'failed'; detail: string }>;
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

export interface Health {
  ok: true;
  version: string;
  pid: number;
  uptimeSeconds: number;
  activeJobs: number;
  store: string;
  dataDir: string;
}

export type MachineWithDisks = Machine & { disks: Disk[] };
export type JobView = Job & { live?: ProgressEvent };
export type { AuditEvent, Disk, ImageRecord, Job, Machine, Schedule };
