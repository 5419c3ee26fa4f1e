// The appliance as a restore source (imaging/restore.ts RestoreSource), over the agent API.
// The appliance certified the image (manifest HMAC, index digest, every chunk present,
// passphrase) before it offered the job, and the pinned connection says it is the
// appliance speaking; the agent holds no store key, so it checks what it can: the manifest
// is well-formed, the index is the one the manifest names (size and SHA-256) and agrees
// with it; every chunk's SHA-256 is checked again before it is written (chunk-worker.ts).
import { createHash } from 'node:crypto';
import type { RestoreStart } from '../api/agent-wire.js';
import { integrityError } from '../errors.js';
import type { Certified, RestoreSource } from '../imaging/restore.js';
import { IMAGE_ID, MANIFEST_FORMAT, isValidChunkSize } from '../imaging/repo/formats.js';
import { decodeIndex } from '../imaging/repo/index-file.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import { agentChunkReader, type AgentStoreRef } from './http-chunks.js';

const bad = (why: string) => integrityError(`the image the appliance offered cannot be restored: ${why}; nothing was written — check the image at the appliance (\`lifeboat image verify\`)`);

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** The manifest and index of a `job/start` answer, checked against each other (pure). */
export function certifiedFromStart(start: RestoreStart): Certified {
  if (start?.type !== 'restore') throw bad('the job/start answer is not a restore');
  const m = start.manifest as Manifest;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT) throw bad('its manifest is not a Lifeboat manifest');
  if (typeof m.id !== 'string' || !IMAGE_ID.test(m.id)) throw bad(`its manifest has an invalid id ${JSON.stringify(m.id)?.slice(0, 60)}`);
  if (!isCount(m.diskSize) || m.diskSize === 0 || !isValidChunkSize(m.chunkSize) || !isCount(m.chunkCount)) throw bad(`manifest ${m.id} has invalid sizes`);
  if (typeof m.index !== 'object' || m.index === null || !isCount(m.index.bytes) || typeof m.index.sha256 !== 'string') throw bad(`manifest ${m.id} does not describe its index`);
  const src = m.source as Partial<Manifest['source']> | undefined;
  if (typeof src !== 'object' || src === null || ![512, 1024, 2048, 4096].includes(src.logicalSectorSize as number)) throw bad(`manifest ${m.id} has no valid sector size`);
  if (typeof start.index !== 'string' || start.index.length > ((m.index.bytes + 2) / 3) * 4 + 4) throw bad(`the index of image ${m.id} is not the ${m.index.bytes} bytes its manifest names`);
  const bytes = Buffer.from(start.index, 'base64');
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== m.index.bytes || digest !== m.index.sha256) throw bad(`the index of image ${m.id} (${bytes.length} bytes, SHA-256 ${digest.slice(0, 16)}…) is not the one its manifest certifies`);
  const index = decodeIndex(bytes, `index of image ${m.id}`);
  if (index.diskSize !== m.diskSize || index.chunkSize !== m.chunkSize || index.chunkCount !== m.chunkCount) throw bad(`the index of image ${m.id} disagrees with its manifest on disk or chunk size`);
  return { manifest: m, index };
}

export function remoteSource(ref: AgentStoreRef, start: RestoreStart): RestoreSource {
  const certified = certifiedFromStart(start);
  return {
    where: `${ref.url} (image ${certified.manifest.id})`,
    chunks: { ref, ...agentChunkReader(ref) },
    certify: async () => certified,
  };
}
