// The zod schemas of every agent request body of agent-wire.ts: strict (an unknown field is
// refused), bounded (numbers, lists, text lengths) and with text checked as the operator
// API checks it (src/text.ts). A body comes from a machine on the LAN: hostile until one of
// these has passed it. The daemon alone loads this file (the agent's bundle never loads zod).
import { z } from 'zod';
import { textProblem } from '../text.js';
import { MAX_HAS_BATCH } from './agent-wire.js';

/** Text as src/text.ts allows it (no control characters, bidi overrides…). */
const text = (max: number, opts: { min?: number; multiline?: boolean } = {}) =>
  z
    .string()
    .min(opts.min ?? 0)
    .superRefine((value, ctx) => {
      const problem = textProblem(value, { max, ...(opts.multiline ? { multiline: true } : {}) });
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });
const optionalText = (max: number) => text(max).nullable().optional();
const bytes = z.number().int().nonnegative().max(2 ** 53 - 1);
const count = z.number().int().nonnegative().max(2 ** 40);
const sectorSize = z.number().int().min(512).max(65536);
const physicalSectorSize = z.number().int().min(512).max(1 << 20);
/** A kernel disk name: `sda`, `nvme0n1`, `mmcblk0`. */
const diskName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'is not a disk name (sda, nvme0n1)');
export const DIGEST = /^[0-9a-f]{64}$/;
const digest = z.string().regex(DIGEST, 'is not a chunk digest (64 lowercase hex digits)');

export const AgentHello = z.object({
  agent: z.object({ version: z.string().max(64), node: z.string().max(64) }),
  inventory: z.object({
    smbios: z.object({ system: z.object({ uuid: optionalText(64), manufacturer: optionalText(256), product: optionalText(256), serial: optionalText(256) }).passthrough() }).passthrough(),
    disks: z
      .array(
        z
          .object({
            name: diskName,
            sizeBytes: z.number().int().nonnegative().max(2 ** 60),
            model: optionalText(256),
            serial: optionalText(256),
            logicalSectorSize: sectorSize,
            physicalSectorSize,
          })
          .passthrough(),
      )
      .max(64),
    nics: z.array(z.object({ name: z.string().max(64), mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/), driver: optionalText(64) }).passthrough()).max(64),
    cpu: z.object({ model: optionalText(256), count: z.number().int().min(0).max(65536) }).passthrough(),
    memoryBytes: z.number().int().nonnegative().nullable(),
  }),
});
export type AgentHello = z.infer<typeof AgentHello>;

const DiskIdentity = z
  .object({
    name: diskName,
    sizeBytes: z.number().int().positive().max(2 ** 53 - 1),
    logicalSectorSize: sectorSize,
    physicalSectorSize,
    model: text(256).nullable(),
    serial: text(256).nullable(),
  })
  .strict();

export const StartBody = z.object({ disk: DiskIdentity }).strict();

export const HasBody = z.object({ digests: z.array(digest).min(1).max(MAX_HAS_BATCH) }).strict();

export const ProgressBody = z
  .object({
    bytesDone: bytes,
    bytesTotal: bytes,
    bytesNew: bytes,
    bytesReused: bytes,
    bytesZero: bytes,
    storedBytes: bytes,
    chunksDone: count,
    chunksTotal: count,
  })
  .strict()
  .refine((p) => p.bytesDone <= p.bytesTotal && p.chunksDone <= p.chunksTotal, 'done is more than the total');

const Extent = z.object({ start: bytes, length: bytes }).strict();
const fsType = z.enum(['ext2', 'ext3', 'ext4', 'fat12', 'fat16', 'fat32', 'ntfs', 'swap']).nullable();
const method = z.enum(['used-blocks', 'header', 'raw', 'none']);
/**
 * describePlan() of the disk: the restore's retargeting reads it (minimum target size, the
 * last partition to grow), so its shape is checked, not just passed on.
 */
export const Layout = z
  .object({
    diskSize: bytes,
    table: z.enum(['gpt', 'mbr', 'none']),
    sectorSize,
    diskId: text(64).optional(),
    wholeDisk: z.object({ filesystem: fsType, method, warning: text(1024).optional() }).strict().optional(),
    partitions: z
      .array(
        z
          .object({
            number: z.number().int().min(1).max(4096),
            start: bytes,
            size: bytes,
            type: text(64),
            typeName: text(64),
            name: text(128).optional(),
            uuid: text(64).optional(),
            filesystem: fsType,
            method,
            usedBytes: bytes,
            fsLabel: text(256).optional(),
            fsUuid: text(64).optional(),
            warning: text(1024).optional(),
          })
          .passthrough(),
      )
      .max(256),
    reserved: z.array(Extent).max(1024),
    bootCode: z.array(Extent).max(64).optional(),
    usedBytes: bytes,
    warnings: z.array(text(1024)).max(64),
  })
  .passthrough();

/** The engine's image statistics as the agent counted them (the daemon replaces what it saw itself: new chunks and their bytes). */
const Stats = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/), z.number().finite().nonnegative().max(2 ** 53)).refine((s) => Object.keys(s).length <= 32, 'has more than 32 fields');

const isoTime = z.string().max(40).refine((t) => /^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})$/.test(t) && !Number.isNaN(Date.parse(t)), 'is not an ISO time');
const imageId = z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/, 'is not an image id');

const FinishSource = z
  .object({
    kind: z.literal('block'),
    size: z.number().int().positive().max(2 ** 53 - 1),
    logicalSectorSize: sectorSize,
    physicalSectorSize,
    model: text(256).nullable(),
    serial: text(256).nullable(),
    name: diskName,
  })
  .strict();

export const FinishBody = z
  .object({
    source: FinishSource,
    imageBytes: z.number().int().positive().max(2 ** 53 - 1),
    contentSha256: digest,
    stats: Stats,
    layout: Layout.nullable(),
    startedAt: isoTime,
  })
  .strict();

/** A backup committed in a destination's store (agent-wire.ts StoredBody): facts for the appliance's record, bounded. */
export const StoredBody = z
  .object({
    imageId,
    parentId: imageId.nullable(),
    createdAt: isoTime,
    completedAt: isoTime,
    source: FinishSource,
    imageBytes: z.number().int().positive().max(2 ** 53 - 1),
    chunkSize: z.number().int().min(4096).max(64 << 20),
    chunkCount: z.number().int().positive().max(2 ** 40),
    contentSha256: digest,
    manifestSha256: digest,
    stats: Stats,
    layout: Layout.nullable(),
  })
  .strict()
  .refine((b) => b.imageBytes === b.source.size, 'imageBytes differs from the source disk\'s size')
  .refine((b) => b.chunkCount === Math.ceil(b.imageBytes / b.chunkSize), 'chunkCount does not match imageBytes and chunkSize')
  .refine((b) => Date.parse(b.createdAt) <= Date.parse(b.completedAt), 'completedAt is before createdAt')
  .refine((b) => b.parentId !== b.imageId, 'an image cannot be its own parent');

export const EndBody = z
  .object({
    ok: z.boolean(),
    stage: text(32).nullable(),
    error: text(4096, { multiline: true }).nullable(),
    advice: text(4096, { multiline: true }).nullable(),
    report: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/), z.unknown())
      .nullable()
      .refine((r) => r === null || JSON.stringify(r).length <= 64 * 1024, 'is larger than 64 KiB'),
    wrote: z.boolean(),
  })
  .strict();

/** `?raw=<bytes>` of a chunk upload: the chunk's uncompressed size. */
export const RawSize = z.string().regex(/^[1-9][0-9]{0,9}$/, 'raw must be the chunk\'s uncompressed size in bytes').transform(Number);

export const AGENT_BODY_SCHEMAS = { AgentHello, StartBody, HasBody, ProgressBody, FinishBody, StoredBody, EndBody };

/** The first few problems of a refused body, as `path: message` lines. */
export function issuesOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
}
