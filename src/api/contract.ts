// The operator API's contract, shared by the daemon, the CLI and (later) the TUI,
// dashboard and agent: request-body schemas (zod), response types, the error body, and
// the route list. Version prefix /v1. Bodies are JSON, at most MAX_BODY bytes.
import { z } from 'zod';
import type { ProgressEvent } from '../imaging/progress.js';
import type { AuditEvent, Disk, ImageRecord, Job, Machine, Schedule } from '../store/index.js';
export type { LiveEvent } from '../daemon/event-hub.js';

export const API_PREFIX = '/v1';
export const MAX_BODY = 1 << 20;
/** Header carrying the operator's name (the socket is mode 0660, group lifeboat: every peer is an operator). */
export const OPERATOR_HEADER = 'x-lifeboat-operator';

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

export const NewJobBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('backup'), device: devicePath, label: z.string().max(256).optional() }).strict(),
  z.object({ type: z.literal('restore'), image: imageId, device: devicePath, confirm: z.literal(true, 'restore overwrites the device: send "confirm": true'), verify: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('verify'), image: imageId }).strict(),
]);
export type NewJobBody = z.infer<typeof NewJobBody>;

const retentionCount = z.number().int().min(1).max(10000).optional();
export const NewScheduleBody = z
  .object({
    name,
    machines: z.array(name).min(1).max(1000).optional(),
    group: name.optional(),
    calendar: z.string().min(1).max(256),
    retention: z.object({ keepLast: retentionCount, daily: retentionCount, weekly: retentionCount, monthly: retentionCount }).strict().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => (b.machines === undefined) !== (b.group === undefined), 'name either machines or a group');
export type NewScheduleBody = z.infer<typeof NewScheduleBody>;

/** A schedule with when it fires next (UTC ISO time, null when never). */
export type ScheduleView = Schedule & { nextRun: string | null };

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
}

export type MachineWithDisks = Machine & { disks: Disk[] };
export type JobView = Job & { live?: ProgressEvent };
export type { AuditEvent, ImageRecord, Job, Machine, Schedule };
