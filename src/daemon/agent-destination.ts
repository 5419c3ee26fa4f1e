// The appliance's side of a machine backup into a destination (a filesystem on a disk
// attached to the client, or a share the config names): the job/start answer that sends
// the agent there, and the record of the image it reports with job/stored. The appliance
// opens no chunk session for it and never sees its chunks: the image's record says where
// it is (its location) until `lifeboat images import` brings it into the appliance's store.
// Pure functions over records.
import type { AgentDestination, DestinationStart, DiskIdentity, StoredBody } from '../api/agent-wire.js';
import { type JobDestination, locationOf } from '../api/destination.js';
import type { ImageFacts } from '../db/index.js';
import { integrityError, userError } from '../errors.js';
import { type LayoutSummary, minimumTargetSize } from '../imaging/retarget.js';

/** Turns a share's name into what the agent mounts (src/daemon/shares.ts; throws a clear error for an unknown name). */
export type ShareResolver = (name: string) => Extract<AgentDestination, { kind: 'share' }>;

/** The start answer of a backup into `dest`. Throws a user error when the share cannot be resolved. Pure but for the resolver. */
export function destinationStart(dest: JobDestination, o: { host: string; label: string | null; resolveShare: ShareResolver | null }): DestinationStart {
  if (dest.kind === 'share') {
    if (!o.resolveShare) throw userError(`no share named ${dest.name}: this appliance has no shares in its config`);
    const share = o.resolveShare(dest.name);
    return { type: 'backup', destination: share, host: o.host, label: o.label };
  }
  const destination: AgentDestination = 'label' in dest ? { kind: 'client-disk', label: dest.label } : { kind: 'client-disk', uuid: dest.uuid };
  return { type: 'backup', destination, host: o.host, label: o.label };
}

/**
 * The image record of a backup an agent committed in a destination, checked against the
 * disk the job started on. Throws an integrity error when the report is about another disk.
 */
export function storedImageFacts(body: StoredBody, o: { disk: DiskIdentity; host: string; label: string | null }): ImageFacts {
  const { source } = body;
  const disk = o.disk;
  if (source.name !== disk.name || source.serial !== disk.serial || source.size !== disk.sizeBytes || source.logicalSectorSize !== disk.logicalSectorSize) {
    throw integrityError(`the agent reports an image of disk ${source.name} (serial ${source.serial ?? 'none'}, ${source.size} bytes); the job started on ${disk.name} (serial ${disk.serial ?? 'none'}, ${disk.sizeBytes} bytes)`);
  }
  const n = (k: string) => {
    const v = body.stats[k];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
  };
  return {
    id: body.imageId,
    label: o.label,
    host: o.host,
    createdAt: new Date(Date.parse(body.createdAt)).toISOString(),
    completedAt: new Date(Date.parse(body.completedAt)).toISOString(),
    diskSize: body.imageBytes,
    minTargetBytes: minimumTargetSize(body.layout as LayoutSummary | null, body.imageBytes),
    chunkSize: body.chunkSize,
    chunkCount: body.chunkCount,
    bytesNew: n('bytesNew'),
    storedBytesNew: n('storedBytesNew'),
    parent: body.parentId,
    sourcePath: `/dev/${disk.name}`,
    sourceKind: 'block',
    ...(disk.model ? { diskModel: disk.model } : {}),
    ...(disk.serial ? { diskSerial: disk.serial } : {}),
    hasPassphrase: false,
  };
}

/** The location an image of `dest` is recorded with. Pure. */
export function storedLocation(dest: JobDestination): string {
  return locationOf(dest) as string;
}
