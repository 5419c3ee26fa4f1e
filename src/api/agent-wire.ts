// The agent's protocol with the appliance: paths, bodies and answers, declared once for
// both ends (the daemon's agent routes and the boot OS's agent). Types and constants only:
// the agent's bundle loads this file, never zod or the daemon (the daemon validates bodies
// with agent-schemas.ts).
//
// Every request carries the one-job token of the boot (`Authorization: Bearer <token>`).
// The token names the job and the machine, so no path carries a job id: a token can only
// ever reach its own job. Served on the boot interface (HTTPS with a pinned certificate;
// plain HTTP only when the operator configures it for a lab).
//
// A job on the wire:
//   hello                → the job (or none: boot the local disk)
//   POST job/start       → the job runs (state `running`); a backup learns its image id, chunk
//                          size and lineage; a restore gets the certified image (manifest, index)
//   backup:  GET job/parent/index, GET job/parent/fingerprints (when there is a parent)
//            POST job/chunks/has (batches) → PUT job/chunks/<digest>?raw=<bytes> (each frame
//            the store lacks; checked by decode + SHA-256 before it is kept)
//            PUT job/index, PUT job/fingerprints → POST job/finish: the appliance checks
//            every chunk is present, writes and certifies the manifest, commits the image
//   restore: GET job/chunks/<digest> (only digests of the image being restored)
//   backup to a destination (the start answer carries `destination`): the agent mounts it,
//            runs the engine into `<mount>/lifeboat-store` (that store's own key), commits,
//            syncs, unmounts, then POST job/stored: the appliance records the image there
//   both:    POST job/progress (at most a few per second), POST job/end (the outcome;
//            for a backup only a failure: success is job/finish)
// After job/end, or when the job was cancelled at the appliance, every request with the
// token is refused (401 for an unknown or ended token; 409 with `cancelled: true` when
// the operator cancelled the running job: the agent stops and reports nothing more).
import type { ProgressCounters } from '../imaging/progress.js';

export const AGENT_PREFIX = '/agent/v1';
export const AGENT_PATHS = {
  hello: 'hello',
  start: 'job/start',
  parentIndex: 'job/parent/index',
  parentFingerprints: 'job/parent/fingerprints',
  has: 'job/chunks/has',
  /** + '/<digest>' (PUT with `?raw=<uncompressed bytes>`, or GET) */
  chunks: 'job/chunks',
  index: 'job/index',
  fingerprints: 'job/fingerprints',
  progress: 'job/progress',
  finish: 'job/finish',
  /** A backup into a destination committed there (the answer to a start that named one). */
  stored: 'job/stored',
  end: 'job/end',
} as const;

/** Most digests one `has` request may ask about. */
export const MAX_HAS_BATCH = 4096;
/** A frame may be at most this much larger than its chunk (LZ4 frame overhead of an incompressible chunk). */
export const FRAME_SLACK = 64 * 1024;

/** What the agent does after its job (the operator chooses per job; default reboot). */
export type JobEnd = 'reboot' | 'poweroff';

/** Which of the machine's disks a job is for: by serial when known, else the kernel's name (`sda`, `nvme0n1`); null: the only disk. */
export interface DiskChoice {
  serial: string | null;
  name: string | null;
}

export interface BackupJobSpec {
  id: string;
  type: 'backup';
  disk: DiskChoice;
  label: string | null;
  end: JobEnd;
  /**
   * Where the image goes when not into the appliance (no secret here: a share's account
   * comes in the start answer). A job naming no disk then leaves out the disk that holds the
   * destination's filesystem when the agent chooses the one to back up.
   */
  destination?: { kind: 'client-disk'; label?: string; uuid?: string } | { kind: 'share'; name: string };
}

export interface RestoreJobSpec {
  id: string;
  type: 'restore';
  imageId: string;
  disk: DiskChoice;
  /** Read the target back after writing and compare every chunk. */
  verify: boolean;
  /**
   * Check every chunk before the first write. The operator's choice, or by default
   * 'if-partitioned': when the disk the agent is about to write holds a partition table
   * (something worth keeping), as the appliance's own restore jobs decide; a blank disk
   * has nothing to lose, and streams.
   */
  verifyFirst: boolean | 'if-partitioned';
  /** On a larger disk, enlarge the last partition and its filesystem. */
  growLast: boolean;
  end: JobEnd;
}

export type AgentJobSpec = BackupJobSpec | RestoreJobSpec;

/** POST hello → */
export interface HelloAnswer {
  machine: string;
  job: AgentJobSpec | null;
  /**
   * With a job, after a hello made with a boot medium's token: the one-job token the agent
   * presents on the job routes from then on (a medium's token is accepted by hello only).
   */
  token?: string;
}

/** The disk the agent chose, as it sees it (the daemon records it and checks it against the job). */
export interface DiskIdentity {
  name: string;
  sizeBytes: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  model: string | null;
  serial: string | null;
}

/** POST job/start body. */
export interface StartBody {
  disk: DiskIdentity;
}

/** POST job/start → for a backup. */
export interface BackupStart {
  type: 'backup';
  imageId: string;
  chunkSize: number;
  /** The previous image of this machine's disk: its index and fingerprints can be fetched. */
  parent: { id: string; chunkCount: number; hasFingerprints: boolean } | null;
  /** The lineage's fingerprint salt (the parent's, or a new one) and the 64-byte key derived from it (hex): never the store key. */
  fingerprintSalt: string;
  fingerprintKey: string;
}

/**
 * Where a backup goes when not into the appliance (issue 15, claim 9): a filesystem on a
 * disk attached to the client (exactly one of label/uuid; never the disk being backed up),
 * or an SMB share the appliance's config names (its password travels only in this answer,
 * over the pinned TLS channel; never logged).
 */
export type AgentDestination =
  | { kind: 'client-disk'; label?: string; uuid?: string }
  | { kind: 'share'; name: string; type: 'smb'; unc: string; username: string; password: string };

/** The directory of the store on a mounted destination. */
export const DESTINATION_STORE_DIR = 'lifeboat-store';

/**
 * POST job/start → for a backup into a destination: no chunk session at the appliance; the
 * agent runs the engine into `<mount>/lifeboat-store` (made on first use, with its own key;
 * the parent is that store's newest image of the same disk) and reports with job/stored.
 */
export interface DestinationStart {
  type: 'backup';
  destination: AgentDestination;
  /** The machine's name: the manifest's host. */
  host: string;
  /** The image's label. */
  label: string | null;
}

/** POST job/start → for a restore: the image the appliance certified (manifest HMAC, index digest, every chunk present, passphrase). */
export interface RestoreStart {
  type: 'restore';
  /** The signed manifest as stored (JSON). */
  manifest: unknown;
  /** The index file's bytes, base64. */
  index: string;
  /** Bytes the target must have at least. */
  minTargetBytes: number;
}

export type StartAnswer = BackupStart | DestinationStart | RestoreStart;

/** True when a start answer sends the backup to a destination rather than the appliance. */
export function isDestinationStart(a: StartAnswer): a is DestinationStart {
  return a.type === 'backup' && 'destination' in a && a.destination !== undefined;
}

/** POST job/chunks/has body → answer. */
export interface HasBody {
  digests: string[];
}
export interface HasAnswer {
  present: boolean[];
}

/** PUT job/chunks/<digest> → */
export interface StageAnswer {
  /** The frame was new to the store (false: it was there or already staged in this job). */
  stored: boolean;
}

/** POST job/progress body: the engine's counters. */
export type ProgressBody = ProgressCounters;

/** POST job/finish body (a backup): what only the agent saw. The index and fingerprints were PUT before. */
export interface FinishBody {
  source: { kind: 'block'; size: number; logicalSectorSize: number; physicalSectorSize: number; model: string | null; serial: string | null; name: string };
  imageBytes: number;
  contentSha256: string;
  stats: Record<string, number>;
  /** describePlan() of the disk (partitions and filesystems), or null. */
  layout: unknown;
  startedAt: string;
}

/** POST job/finish → */
export interface FinishAnswer {
  imageId: string;
  chunkCount: number;
  /** Chunks this job added to the store. */
  chunksNew: number;
}

/**
 * POST job/stored body: the image a backup committed in the destination's store, as its
 * manifest says (the appliance records it with the destination as its location; `lifeboat
 * images import` later checks it chunk by chunk). The answer is {}.
 */
export interface StoredBody {
  imageId: string;
  /** The image it is incremental to in that store, or null. */
  parentId: string | null;
  createdAt: string;
  completedAt: string;
  source: FinishBody['source'];
  imageBytes: number;
  chunkSize: number;
  chunkCount: number;
  contentSha256: string;
  /** SHA-256 of the manifest.json as written there. */
  manifestSha256: string;
  stats: Record<string, number>;
  layout: unknown;
}

/** POST job/end body: how the job ended at the agent. */
export interface EndBody {
  ok: boolean;
  /** Where it stopped: 'disk' | 'read' | 'network' | 'write' | 'verify' | 'certify' | … */
  stage: string | null;
  error: string | null;
  advice: string | null;
  /** A restore's report (bytes written, adapted, grow, verified, checked first, duration). */
  report: Record<string, unknown> | null;
  /** The restore began writing: a failure leaves the target incomplete. */
  wrote: boolean;
}

/** Every error answer of the agent API. */
export interface AgentError {
  error: string;
  /** The operator cancelled the job: stop, report nothing more. */
  cancelled?: true;
  /** A body that does not match the contract (400): what was wrong, as `path: message` lines. */
  issues?: string[];
}
