// The appliance's side of an agent's restore: the image is certified (manifest HMAC, index
// digest, every chunk present, passphrase) and the target disk checked (large enough, same
// sector size) before the agent is told anything of it; the image is then held against gc
// and removal until the job ends. The agent may read the frames of this one image only: a
// digest that is not in its index is "not found", whether or not the store has it.
import type { DiskIdentity, RestoreStart } from '../api/agent-wire.js';
import { userError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import { encodeIndex } from '../imaging/repo/index-file.js';
import type { StoreLock } from '../imaging/repo/locks.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import { certifyImage } from '../imaging/restore.js';
import { type LayoutSummary, minimumTargetSize } from '../imaging/retarget.js';
import { AgentRefusal } from './agent-http.js';
import { chunkDigests } from './agent-backup.js';

/** Why `disk` cannot take the image, or null. Pure. */
export function targetProblem(manifest: Pick<Manifest, 'id' | 'diskSize' | 'layout' | 'source'>, disk: DiskIdentity): string | null {
  const need = minimumTargetSize(manifest.layout as LayoutSummary | null, manifest.diskSize);
  if (disk.sizeBytes < need) return `disk ${disk.name} is ${formatBytes(disk.sizeBytes)} (${disk.sizeBytes} bytes); image ${manifest.id} needs at least ${formatBytes(need)} (${need} bytes): choose a larger disk`;
  const sector = manifest.source.logicalSectorSize;
  if (Number.isSafeInteger(sector) && sector !== disk.logicalSectorSize) return `disk ${disk.name} has ${disk.logicalSectorSize}-byte sectors; image ${manifest.id} was made from a disk with ${sector}-byte sectors, and its partition table would not fit: choose a disk with ${sector}-byte sectors`;
  return null;
}

/** One agent restore: the certified image it may read, held until the job ends. */
export class RestoreServe {
  private constructor(
    readonly answer: RestoreStart,
    private readonly digests: Set<string>,
    private readonly hold: StoreLock,
    private readonly store: ImageStore,
  ) {}

  /** Certifies the image and checks the target; throws what is wrong before anything is held. */
  static async open(o: { store: ImageStore; imageId: string; passphrase?: string; disk: DiskIdentity }): Promise<RestoreServe> {
    const hold = o.store.holdImage(o.imageId, 'restore');
    try {
      const { manifest, index } = await certifyImage(o.store, o.imageId, o.passphrase);
      const problem = targetProblem(manifest, o.disk);
      if (problem) throw userError(problem);
      const answer: RestoreStart = { type: 'restore', manifest, index: encodeIndex(index).toString('base64'), minTargetBytes: minimumTargetSize(manifest.layout as LayoutSummary | null, manifest.diskSize) };
      return new RestoreServe(answer, new Set(chunkDigests(index)), hold, o.store);
    } catch (err) {
      hold.release();
      throw err;
    }
  }

  /** The stored frame of a chunk of this image; 404 for any other digest. */
  async frame(digest: string): Promise<Buffer> {
    if (!this.digests.has(digest)) throw new AgentRefusal(404, `chunk ${digest} is not part of the image this job restores`);
    return this.store.chunks.getFrame(digest);
  }

  /** Lets gc and removal at the image again. Idempotent. */
  close(): void {
    this.hold.release();
  }
}
