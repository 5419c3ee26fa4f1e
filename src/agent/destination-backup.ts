// A backup into a destination (issue 15, claim 9): the appliance's job/start answer named a
// filesystem on a disk attached to this machine, or a share. The agent mounts it, runs the
// same engine as `lifeboat image backup --store <mount>/lifeboat-store` (that store's own
// key, made on first use; the parent is its newest image of the same disk), and once the
// image is committed there, syncs and unmounts, then returns what the appliance records
// (job/stored). What the appliance sent is checked first (hostile until then).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DESTINATION_STORE_DIR, type AgentDestination, type DestinationStart, type StoredBody } from '../api/agent-wire.js';
import { DEST_LABEL, DEST_UUID, SHARE_NAME } from '../api/destination.js';
import { userError } from '../errors.js';
import { backupTo } from '../imaging/backup.js';
import { localTarget } from '../imaging/backup-target.js';
import type { EventSink } from '../imaging/progress.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { type MountOptions, destinationName, mountClientDisk } from './client-disk.js';
import type { DiskInfo } from './inventory.js';

export type ShareDestination = Extract<AgentDestination, { kind: 'share' }>;
/** Mounts a share at `at` and returns its unmount (src/agent/share-mount.ts). */
export type ShareMounter = (dest: ShareDestination, at: string, log: (line: string) => void) => Promise<() => Promise<void>>;

const wrong = (what: string) => userError(`the appliance's job/start answer has ${what}: are the agent and the appliance the same version?`);
const hasControl = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const isText = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max && !hasControl(v);

/** Checks a job/start answer that names a destination. Pure. */
export function checkDestinationStart(s: DestinationStart): DestinationStart {
  if (s?.type !== 'backup' || typeof s.destination !== 'object' || s.destination === null) throw wrong('no destination in it');
  if (!isText(s.host, 256)) throw wrong('an invalid host');
  if (s.label !== null && (typeof s.label !== 'string' || s.label.length > 256 || hasControl(s.label))) throw wrong('an invalid label');
  const d = s.destination;
  if (d.kind === 'client-disk') {
    const byLabel = d.label !== undefined;
    if (byLabel === (d.uuid !== undefined)) throw wrong('a client disk named by neither or both of label and uuid');
    if (byLabel ? typeof d.label !== 'string' || !DEST_LABEL.test(d.label) : typeof d.uuid !== 'string' || !DEST_UUID.test(d.uuid)) throw wrong('an invalid filesystem label or UUID');
    if (Object.keys(d).length !== 2) throw wrong('unknown fields in the client disk');
  } else if (d.kind === 'share') {
    if (typeof d.name !== 'string' || !SHARE_NAME.test(d.name) || d.type !== 'smb') throw wrong('an invalid share');
    if (typeof d.unc !== 'string' || !/^\/\/[^/\s]+\/[^\s]+$/.test(d.unc) || d.unc.length > 512) throw wrong('an invalid share path (//host/share)');
    if (typeof d.username !== 'string' || d.username.length > 256 || typeof d.password !== 'string' || d.password.length > 1024) throw wrong('an invalid share account');
  } else {
    throw wrong(`a destination of kind ${JSON.stringify((d as { kind?: unknown }).kind)?.slice(0, 30)}, which this agent does not know`);
  }
  return s;
}

/** The destination in words (never the share's password). */
export function describeDestination(d: AgentDestination): string {
  return d.kind === 'share' ? `share ${d.name} (${d.unc})` : `client disk ${destinationName(d)}`;
}

export interface DestinationBackupOptions extends Omit<MountOptions, 'sourceDisk'> {
  start: DestinationStart;
  disk: DiskInfo;
  /** The disk's device node. */
  source: string;
  /** Where the destination is mounted (default `<root>/run/lifeboat-destination`). */
  mountPoint?: string;
  mountShare: ShareMounter | null;
  onEvent?: EventSink;
  signal?: AbortSignal;
  workers?: number;
  /** Called once the image is committed in the destination's store. */
  onCommit?: () => void;
}

/** Mounts the destination, backs the disk up into its store, unmounts; returns the report for job/stored. */
export async function backupToDestination(o: DestinationBackupOptions): Promise<StoredBody> {
  const start = checkDestinationStart(o.start);
  const dest = start.destination;
  const at = o.mountPoint ?? join(o.root, 'run/lifeboat-destination');
  let unmount: (() => Promise<void>) | null;
  if (dest.kind === 'share') {
    if (!o.mountShare) throw userError(`this agent cannot mount shares (${describeDestination(dest)}): update the boot OS`);
    unmount = await o.mountShare(dest, at, o.log);
  } else {
    unmount = await mountClientDisk(dest, at, { ...o, sourceDisk: o.disk.name });
  }
  try {
    const dir = join(at, DESTINATION_STORE_DIR);
    const store = await ImageStore.open(dir, { create: true });
    o.log(`backing up ${o.source} into ${describeDestination(dest)} (${DESTINATION_STORE_DIR} there)`);
    const manifest = await backupTo(localTarget(store), {
      source: o.source,
      host: start.host,
      identity: { ...(o.disk.model ? { model: o.disk.model } : {}), ...(o.disk.serial ? { serial: o.disk.serial } : {}) },
      ...(start.label !== null ? { label: start.label } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
    });
    o.onCommit?.();
    const manifestSha256 = createHash('sha256').update(readFileSync(join(store.imageDir(manifest.id), 'manifest.json'))).digest('hex');
    const d = o.disk;
    const body: StoredBody = {
      imageId: manifest.id,
      parentId: manifest.parent,
      createdAt: manifest.createdAt,
      completedAt: manifest.completedAt,
      source: { kind: 'block', size: manifest.diskSize, logicalSectorSize: d.logicalSectorSize, physicalSectorSize: d.physicalSectorSize, model: d.model, serial: d.serial, name: d.name },
      imageBytes: manifest.diskSize,
      chunkSize: manifest.chunkSize,
      chunkCount: manifest.chunkCount,
      contentSha256: manifest.content.sha256,
      manifestSha256,
      stats: { ...manifest.stats },
      layout: manifest.layout ?? null,
    };
    const done = unmount;
    unmount = null;
    await done(); // synced and unmounted before the appliance hears of it
    o.log(`image ${manifest.id} committed on ${describeDestination(dest)}; unmounted`);
    return body;
  } finally {
    if (unmount) await unmount().catch((err: Error) => o.log(`unmounting ${at} failed: ${err.message}`));
  }
}
