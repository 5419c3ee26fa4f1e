// The appliance as a backup target (imaging/backup-target.ts), over the agent API: the
// `job/start` answer names the image, its chunk size and the lineage (salt + fingerprint
// key, never the store key); the parent's index and fingerprints are fetched to skip what
// it holds; worker threads stage frames through the `agent` chunk ref (http-chunks.ts);
// the index is kept in memory (32 bytes a chunk: 8 MiB for 1 TB at 4 MiB chunks) and PUT
// with the fingerprints; `job/finish` makes the appliance check, certify and commit.
// Everything the appliance answers is checked before it is used.
import { AGENT_PATHS, type BackupStart, type DiskIdentity, type FinishAnswer, type FinishBody } from '../api/agent-wire.js';
import { LifeboatError, userError } from '../errors.js';
import type { BackupProfile } from '../imaging/backup-profile.js';
import { type BackupTarget, parentPairs } from '../imaging/backup-target.js';
import { decodeFingerprints } from '../imaging/repo/fingerprint.js';
import { IMAGE_ID, isValidChunkSize } from '../imaging/repo/formats.js';
import type { PositionalFile } from '../imaging/repo/image-draft.js';
import { decodeIndex } from '../imaging/repo/index-file.js';
import type { AgentApi } from './agent-api.js';
import type { AgentStoreRef } from './http-chunks.js';

/** Most bytes of a parent's index or fingerprints file (a 64 TiB disk at 64 KiB chunks: 32 MiB of digests). */
const MAX_PARENT_FILE = 64 << 20;

const wrong = (what: string) => userError(`the appliance's job/start answer has ${what}: are the agent and the appliance the same version?`);

/** Checks a `job/start` answer of a backup (hostile until checked). */
export function checkBackupStart(s: BackupStart): BackupStart {
  if (s?.type !== 'backup') throw wrong('no backup in it');
  if (typeof s.imageId !== 'string' || !IMAGE_ID.test(s.imageId)) throw wrong(`an invalid image id ${JSON.stringify(s.imageId)?.slice(0, 60)}`);
  if (!isValidChunkSize(s.chunkSize)) throw wrong(`an invalid chunk size ${JSON.stringify(s.chunkSize)?.slice(0, 20)}`);
  if (typeof s.fingerprintSalt !== 'string' || !/^[0-9a-f]{32}$/.test(s.fingerprintSalt)) throw wrong('an invalid fingerprint salt');
  if (typeof s.fingerprintKey !== 'string' || !/^[0-9a-f]{128}$/.test(s.fingerprintKey)) throw wrong('an invalid fingerprint key');
  const p = s.parent;
  if (p !== null && (typeof p !== 'object' || typeof p.id !== 'string' || !IMAGE_ID.test(p.id) || !Number.isSafeInteger(p.chunkCount) || p.chunkCount < 0 || typeof p.hasFingerprints !== 'boolean')) throw wrong('an invalid parent');
  return s;
}

/** A PositionalFile in memory (the index before it is PUT). */
export function memoryFile(): PositionalFile & { bytes(): Buffer } {
  let buf = Buffer.alloc(1 << 16);
  let length = 0;
  return {
    async write(data, position) {
      const end = position + data.length;
      if (end > buf.length) {
        const bigger = Buffer.alloc(Math.max(end, buf.length * 2));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      data.copy(buf, position);
      length = Math.max(length, end);
    },
    async finish() {},
    async close() {},
    bytes: () => buf.subarray(0, length),
  };
}

export interface RemoteTargetOptions {
  api: AgentApi;
  /** What worker threads open (the same appliance and token). */
  ref: AgentStoreRef;
  start: BackupStart;
  disk: DiskIdentity;
  /** Said on the console. */
  log: (line: string) => void;
  /** Called when the commit begins (the engine read the whole disk). */
  onCommit?: () => void;
  /** Called when the appliance committed the image: the engine's profile and the commit's stages (ms). */
  onCommitted?: (profile: BackupProfile | undefined, stages: Array<readonly [string, number]>) => void;
}

/** How long job/finish may take to be answered (one attempt). */
const FINISH_TIMEOUT_MS = 120_000;

export function remoteTarget(o: RemoteTargetOptions): BackupTarget<FinishAnswer> {
  const start = checkBackupStart(o.start);
  const file = memoryFile();
  return {
    async begin() {
      const warnings: string[] = [];
      let known: Buffer | null = null;
      let pairs: Buffer | null = null;
      if (start.parent) {
        const parent = start.parent;
        try {
          // Both at once: one round trip instead of two.
          const fetching = parent.hasFingerprints ? o.api.send('GET', AGENT_PATHS.parentFingerprints, null, 'application/octet-stream', { limit: MAX_PARENT_FILE }) : null;
          fetching?.catch(() => {}); // awaited below, after the index was checked
          const { body } = await o.api.send('GET', AGENT_PATHS.parentIndex, null, 'application/octet-stream', { limit: MAX_PARENT_FILE });
          const index = decodeIndex(body, `index of parent image ${parent.id}`);
          if (index.chunkCount !== parent.chunkCount || index.chunkSize !== start.chunkSize) throw userError(`the index of parent image ${parent.id} has ${index.chunkCount} chunks of ${index.chunkSize} bytes, not ${parent.chunkCount} of ${start.chunkSize}`);
          known = index.digests;
          if (fetching) {
            const prints = await fetching;
            pairs = parentPairs(decodeFingerprints(prints.body, index.chunkCount, `fingerprints of parent image ${parent.id}`), index.digests);
          }
        } catch (err) {
          // Without the parent every chunk is hashed and asked about: slower, just as sound.
          if (!(err instanceof LifeboatError) || err.kind === 'conflict' || err.kind === 'external') throw err;
          warnings.push(`parent image ${parent.id}: ${err.message}; this backup hashes every chunk instead`);
        }
      }
      return {
        imageId: start.imageId,
        chunkSize: start.chunkSize,
        parentId: start.parent?.id ?? null,
        known,
        parentPrints: pairs,
        fingerprintSalt: start.fingerprintSalt,
        fingerprintKey: Buffer.from(start.fingerprintKey, 'hex'),
        warnings,
        storeRef: o.ref,
        session: { ref: { ...o.ref, session: start.imageId }, noteStaged: () => {} },
        where: `${o.ref.url} (image ${start.imageId})`,
      };
    },
    async indexFile() {
      return file;
    },
    async commit(f) {
      o.onCommit?.();
      o.log(`uploading the index (${f.chunkCount} chunks) and asking the appliance to certify image ${start.imageId}`);
      const t0 = performance.now();
      await Promise.all([
        o.api.send('PUT', AGENT_PATHS.index, file.bytes(), 'application/octet-stream'),
        o.api.send('PUT', AGENT_PATHS.fingerprints, f.fingerprintsBytes, 'application/octet-stream'),
      ]);
      const t1 = performance.now();
      const d = o.disk;
      const body: FinishBody = {
        source: { kind: 'block', size: f.imageBytes, logicalSectorSize: d.logicalSectorSize, physicalSectorSize: d.physicalSectorSize, model: d.model, serial: d.serial, name: d.name },
        imageBytes: f.imageBytes,
        contentSha256: f.contentSha256,
        stats: { ...f.stats },
        layout: f.layout,
        startedAt: new Date(f.startedAt).toISOString(),
      };
      // The appliance checks the upload and commits before it answers: it may rightly take a
      // while, and a second finish would be refused (it is already finishing), so this one
      // attempt waits longer than the others.
      const answer = await o.api.json<FinishAnswer>('POST', AGENT_PATHS.finish, body, { timeoutMs: FINISH_TIMEOUT_MS });
      if (answer?.imageId !== start.imageId || !Number.isSafeInteger(answer.chunkCount) || !Number.isSafeInteger(answer.chunksNew)) {
        throw userError(`the appliance answered job/finish with ${JSON.stringify(answer)?.slice(0, 120)}, not the image ${start.imageId}: check the job at the appliance (\`lifeboat jobs\`)`);
      }
      o.onCommitted?.(f.profile, [
        ['index upload', t1 - t0],
        ['appliance finish', performance.now() - t1],
      ]);
      return answer;
    },
    async close() {},
  };
}
