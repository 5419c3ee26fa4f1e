// The zod schemas the route table names: one per request body, per path parameter and
// per query. The server validates every request with them before a handler runs (so a
// handler sees only checked values); the route table refers to them by name, so the
// client (which never loads zod: it costs a CLI command ~0.1 s of start-up) knows their
// types without their code.
import { z } from 'zod';
import { textProblem } from '../text.js';
import { destinationProblem } from './destination.js';
import { JOB_STATES } from './wire.js';

/** Text as src/text.ts allows it (no control characters, bidi overrides…), checked here as in the engine and the database. */
const text = (max: number, opts: { min?: number; multiline?: boolean } = {}) =>
  z
    .string()
    .min(opts.min ?? 0)
    .superRefine((value, ctx) => {
      const problem = textProblem(value, { max, ...(opts.multiline ? { multiline: true } : {}) });
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });
const name = text(63, { min: 1 });
const mac = text(64, { min: 1 });
const devicePath = text(4096, { min: 1 }).refine((p) => p.startsWith('/'), 'must be an absolute path');
const imageId = z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/, 'is not an image id (see `lifeboat images list`)');
const isoTime = z.string().refine((t) => /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t) && !Number.isNaN(Date.parse(t)), 'is not a time: give an ISO date or time such as 2026-12-01 or 2026-12-01T08:00:00Z');
/** A file on the appliance holding a passphrase (its first line): the path travels and is stored, never the passphrase. */
const passphraseFile = text(4096, { min: 1 }).refine((p) => p.startsWith('/'), 'must be an absolute path to a file on the appliance (root-owned, mode 600)');
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'is not an IPv4 address: give one like 192.168.50.20');
const jobId = z.string().regex(/^[0-9a-f]{12}$/, 'is not a job id (see `lifeboat jobs list`)');

export const NewMachineBody = z
  .object({
    name,
    macs: z.array(mac).min(1).max(16),
    group: text(63).optional(),
    notes: text(4096, { multiline: true }).optional(),
    vendor: text(256).optional(),
    model: text(256).optional(),
    serial: text(256).optional(),
    systemUuid: text(64).optional(),
    bootLoader: z.enum(['auto', 'ipxe', 'ipxe-full', 'signed']).optional(),
    localBoot: z.enum(['exit', 'sanboot']).optional(),
    fixedAddress: ipv4.optional(),
  })
  .strict();
export type NewMachineBody = z.infer<typeof NewMachineBody>;

/** A patch may also approve a discovered machine (status null) or ignore one, set or clear (null) its passphrase file, and clear the fixed address (null). */
export const MachinePatchBody = NewMachineBody.partial()
  .extend({ status: z.enum(['ignored']).nullable().optional(), passphraseFile: passphraseFile.nullable().optional(), fixedAddress: ipv4.nullable().optional() })
  .strict();
export type MachinePatchBody = z.infer<typeof MachinePatchBody>;

const diskRef = text(256, { min: 1 });
const label = text(256);
/** Travels over the socket to the engine; never stored (only the image's scrypt verifier is) nor logged. */
const passphrase = z.string().min(1, 'is empty').max(1024);
/** A job runs on a disk docked in the appliance (`device`) or on a machine's disk (`machine`, optional `disk` serial or path: none = every disk of it). */
/** What a machine does after its job (the agent reboots or powers off; default reboot). Only for a machine's job. */
const jobEnd = z.enum(['reboot', 'poweroff']);
/** Where a machine's backup goes: `appliance` (default), `disk:LABEL=<label>`, `disk:UUID=<uuid>` or `share:<name>` (destination.ts). */
const destination = z.string().superRefine((value, ctx) => {
  const problem = destinationProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});
const onOneTarget = (b: { device?: string | undefined; machine?: string | undefined; disk?: string | undefined }) => (b.device === undefined) !== (b.machine === undefined) && !(b.disk !== undefined && b.machine === undefined);
const targetMessage = 'name either a device (a disk docked in the appliance) or a machine (with an optional disk), not both';
export const NewJobBody = z.discriminatedUnion('type', [
  z
    .object({ type: z.literal('backup'), device: devicePath.optional(), machine: name.optional(), disk: diskRef.optional(), label: label.optional(), passphrase: passphrase.optional(), end: jobEnd.optional(), destination: destination.optional() })
    .strict()
    .refine(onOneTarget, targetMessage)
    .refine((b) => b.end === undefined || b.machine !== undefined, 'end (reboot or poweroff) is for a machine\'s job: a disk docked in the appliance has nothing to reboot')
    .refine((b) => b.destination === undefined || b.destination === 'appliance' || b.machine !== undefined, 'destination is for a machine\'s backup (its agent writes there): a disk docked in the appliance is backed up into the appliance')
    .refine((b) => b.destination === undefined || b.destination === 'appliance' || b.passphrase === undefined, 'a restore passphrase protects images in the appliance\'s store: give no passphrase with a destination other than the appliance'),
  z
    .object({ type: z.literal('restore'), image: imageId, device: devicePath.optional(), machine: name.optional(), disk: diskRef.optional(), confirm: z.literal(true, 'restore overwrites the device: send "confirm": true'), verify: z.boolean().optional(), passphrase: passphrase.optional(), verifyFirst: z.boolean().optional(), growLast: z.boolean().optional(), end: jobEnd.optional() })
    .strict()
    .refine(onOneTarget, targetMessage)
    .refine((b) => b.end === undefined || b.machine !== undefined, 'end (reboot or poweroff) is for a machine\'s job: a disk docked in the appliance has nothing to reboot'),
  z.object({ type: z.literal('verify'), image: imageId }).strict(),
]);
export type NewJobBody = z.infer<typeof NewJobBody>;

const retentionCount = z.number().int().min(1).max(10000).optional();
const elsewhere = (d: string | undefined) => d !== undefined && d !== 'appliance';
const DOCKED_DESTINATION = 'destination is for machines\' backups (their agents write there): disks docked in the appliance are backed up into the appliance';
const PASSPHRASE_DESTINATION = 'a passphrase file protects images in the appliance\'s store: give none with a destination other than the appliance';
export const NewScheduleBody = z
  .object({
    name,
    machines: z.array(name).min(1).max(1000).optional(),
    group: name.optional(),
    devices: z.array(devicePath).min(1).max(64).optional(),
    calendar: text(256, { min: 1 }),
    retention: z.object({ keepLast: retentionCount, daily: retentionCount, weekly: retentionCount, monthly: retentionCount }).strict().optional(),
    enabled: z.boolean().optional(),
    passphraseFile: passphraseFile.optional(),
    /** Where its machines' backups go, as a job's destination (`appliance`: the default). */
    destination: destination.optional(),
  })
  .strict()
  .refine((b) => [b.machines, b.group, b.devices].filter((t) => t !== undefined).length === 1, 'name machines, a group, or devices docked in the appliance: exactly one of them')
  .refine((b) => !elsewhere(b.destination) || b.devices === undefined, DOCKED_DESTINATION)
  .refine((b) => !elsewhere(b.destination) || b.passphraseFile === undefined, PASSPHRASE_DESTINATION);
export type NewScheduleBody = z.infer<typeof NewScheduleBody>;

export const ScheduleRunBody = z
  .object({
    /** Machine jobs fail when their machine has not booted within this many seconds (default 3600). */
    bootTimeoutSeconds: z.number().int().min(1).max(7 * 86400).optional(),
  })
  .strict();
export type ScheduleRunBody = z.infer<typeof ScheduleRunBody>;

const retention = z.object({ keepLast: retentionCount, daily: retentionCount, weekly: retentionCount, monthly: retentionCount }).strict();

/** A change to a schedule: any of its fields but its name. */
export const SchedulePatchBody = z
  .object({
    machines: z.array(name).min(1).max(1000).optional(),
    group: name.optional(),
    devices: z.array(devicePath).min(1).max(64).optional(),
    calendar: z.string().min(1).max(256).optional(),
    retention: retention.optional(),
    enabled: z.boolean().optional(),
    /** null: its backups are no longer protected by a passphrase. */
    passphraseFile: passphraseFile.nullable().optional(),
    /** A new destination for its machines' backups; `appliance` clears it. */
    destination: destination.optional(),
  })
  .strict()
  .refine((b) => [b.machines, b.group, b.devices].filter((t) => t !== undefined).length <= 1, 'name at most one new target: machines, a group, or devices')
  .refine((b) => !elsewhere(b.destination) || b.devices === undefined, DOCKED_DESTINATION)
  .refine((b) => !elsewhere(b.destination) || typeof b.passphraseFile !== 'string', PASSPHRASE_DESTINATION)
  .refine((b) => Object.keys(b).length > 0, 'say what to change: machines, group, devices, calendar, retention, enabled, passphraseFile or destination');
export type SchedulePatchBody = z.infer<typeof SchedulePatchBody>;

export const PruneBody = z.object({ dryRun: z.boolean().optional() }).strict();
export type PruneBody = z.infer<typeof PruneBody>;

/** A prune of every image in the store by a policy given now (per source disk; never a protected image). */
export const ImagesPruneBody = z
  .object({ retention, dryRun: z.boolean().optional() })
  .strict()
  .refine((b) => Object.values(b.retention).some((v) => v !== undefined), { message: 'say what to keep: keepLast, daily, weekly and/or monthly', path: ['retention'] });
export type ImagesPruneBody = z.infer<typeof ImagesPruneBody>;

/** A boot medium for one machine (by name), or for registering whatever boots it (none); the agent URL written on it (default: the daemon's own). */
export const NewMediumBody = z
  .object({
    machine: name.optional(),
    server: text(2048, { min: 1 })
      .refine((u) => /^https?:\/\/[^\s/]+(\/.*)?$/.test(u), 'must be an http:// or https:// URL such as https://192.168.1.10:8443')
      .optional(),
  })
  .strict();
export type NewMediumBody = z.infer<typeof NewMediumBody>;

export const ImagePatchBody = z.object({ protected: z.boolean() }).strict();

/** An image to bring into the appliance's store from a store directory under the docked directory or a share's localPath. */
export const ImageImportBody = z.object({ from: text(4096, { min: 1 }).refine((p) => p.startsWith('/'), 'must be an absolute path to a lifeboat-store directory on the appliance') }).strict();
export type ImageImportBody = z.infer<typeof ImageImportBody>;
export type ImagePatchBody = z.infer<typeof ImagePatchBody>;

/** Request bodies, by the name the route table gives them. A route naming none takes no body. */
export const BODY_SCHEMAS = { NewMachineBody, MachinePatchBody, NewJobBody, NewScheduleBody, ScheduleRunBody, SchedulePatchBody, PruneBody, ImagesPruneBody, ImagePatchBody, ImageImportBody, NewMediumBody };
export type BodySchemas = typeof BODY_SCHEMAS;

/** Path parameters, by their name in the route's path (`/machines/:machine`): each is checked after percent-decoding. */
export const PARAM_SCHEMAS = { machine: name, schedule: name, image: imageId, job: jobId, medium: z.string().regex(/^[0-9a-f]{12}$/, 'is not a boot medium id (see `lifeboat bootmedia list`)') };
export type ParamSchemas = typeof PARAM_SCHEMAS;

/**
 * A query parameter given once arrives as a string, given again as an array. These take
 * either (so an error names the bad value: "state.1: is not a job state"); their declared
 * input type is what a client may pass.
 */
const oneOrMore = <T extends z.ZodType>(item: T) => z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).max(64)) as unknown as z.ZodType<Array<z.output<T>>, z.input<T> | Array<z.input<T>>>;
const once = <T extends z.ZodType>(item: T) => z.preprocess((v) => (Array.isArray(v) && v.length === 1 ? v[0] : v), item) as unknown as z.ZodType<z.output<T>, z.input<T>>;

/** Query strings, by name. A route naming none takes no query parameters. */
export const QUERY_SCHEMAS = {
  MachineQuery: z.object({ group: once(name).optional() }).strict(),
  JobQuery: z
    .object({
      state: oneOrMore(z.enum(JOB_STATES, `is not a job state (${JOB_STATES.join(', ')})`)).optional(),
      since: once(isoTime).optional(),
      limit: once(z.coerce.number().int('is not a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000')).optional(),
    })
    .strict(),
  AuditQuery: z
    .object({
      since: once(isoTime).optional(),
      limit: once(z.coerce.number().int('is not a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000')).optional(),
    })
    .strict(),
};
export type QuerySchemas = typeof QUERY_SCHEMAS;
