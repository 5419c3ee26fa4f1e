// Where a backup's image goes: the seam between the engine (read, hash, compress, index)
// and the place that keeps and certifies the image. The local image store is one target
// (it signs the manifest with its own key); the appliance over the agent API is another
// (src/agent/remote-target.ts: the appliance signs, the agent never holds the store key).
// A target opens a chunk session the worker threads stage into (through its ref), tells the
// engine what the parent image already holds, takes the index as the engine writes it, and
// commits the image from the facts only the engine saw.
import { LifeboatError, bug } from '../errors.js';
import { backupManifest } from './backup-manifest.js';
import type { BackupProfile } from './backup-profile.js';
import type { ChunkSession, ChunkStoreRef } from './repo/chunk-store.js';
import { FingerprintMap, fingerprintKey, newFingerprintSalt } from './repo/fingerprint.js';
import { UNUSED_DIGEST, ZERO_DIGEST } from './repo/formats.js';
import type { ImageDraft, PositionalFile } from './repo/image-draft.js';
import type { ImageStore } from './repo/image-store.js';
import { type ImageStats, type Manifest, type SourceIdentity, makeImageId, makePassphraseVerifier, signManifest } from './repo/manifest.js';

/** What a target tells the engine when the backup begins. */
export interface BackupPlan {
  imageId: string;
  chunkSize: number;
  parentId: string | null;
  /** The parent's chunk digests (32 bytes each, index order): skipped without a look. */
  known: Buffer | null;
  /** The parent's fingerprint → digest pairs (FingerprintMap), or null. */
  parentPrints: Buffer | null;
  /** The lineage's salt and the 64-byte fingerprint key derived from it. */
  fingerprintSalt: string;
  fingerprintKey: Buffer;
  /** Said to the operator as warnings (a damaged parent lineage, an unprotected copy). */
  warnings: string[];
  /** The store worker threads open (a reader; unused by backups, needed by the setup). */
  storeRef: ChunkStoreRef;
  /** The session new chunks are staged into (by the worker threads, through its ref). */
  session: Pick<ChunkSession, 'ref' | 'noteStaged'>;
  /** Where the image goes, for the start event. */
  where: string;
}

/** What only the engine saw, for the target to record and certify. */
export interface BackupFacts {
  label: string | null;
  host: string;
  startedAt: number;
  finishedAt: number;
  source: SourceIdentity;
  imageBytes: number;
  chunkCount: number;
  contentSha256: string;
  stats: ImageStats;
  /** describePlan() of the disk, or null (streams, raw). */
  layout: unknown;
  /** The fingerprints file (encodeFingerprints). */
  fingerprintsBytes: Buffer;
  /** Where the time went so far (the commit's own time is the target's to measure). */
  profile?: BackupProfile;
}

export interface BackupTarget<R> {
  /** Opens the session (from here the store keeps what `has` answered) and learns the lineage. */
  begin(source: SourceIdentity, opts: { incremental: boolean; startedAt: number }): Promise<BackupPlan>;
  /** The index file the engine writes (entries first, header last); once, after begin. */
  indexFile(): Promise<PositionalFile>;
  /** Every chunk was staged and the index finished: keep the image. */
  commit(facts: BackupFacts): Promise<R>;
  /** Drops what an uncommitted backup left; idempotent, always called. */
  close(): Promise<void>;
}

/** The parent's fingerprint → digest pairs (FingerprintMap) from its fingerprints and digests. */
export function parentPairs(prints: Buffer, digests: Buffer): Buffer {
  return FingerprintMap.pairsOf(prints, digests, (d) => d.equals(ZERO_DIGEST) || d.equals(UNUSED_DIGEST));
}

/**
 * The fingerprint lineage a backup continues: the parent's salt and its fingerprint → digest
 * pairs. A parent without fingerprints (older images) starts a new lineage; damaged ones
 * too, with a warning: every chunk is then hashed, which is slower but just as sound.
 */
async function parentLineage(store: ImageStore, parent: Manifest, digests: Buffer): Promise<{ salt: string; pairs: Buffer | null; warning: string | null }> {
  const fresh = { salt: newFingerprintSalt(), pairs: null };
  if (!parent.fingerprints) return { ...fresh, warning: null };
  try {
    const prints = await store.readFingerprints(parent);
    if (!prints) return { ...fresh, warning: null };
    return { salt: parent.fingerprints.salt, pairs: parentPairs(prints, digests), warning: null };
  } catch (err) {
    if (!(err instanceof LifeboatError)) throw err;
    return { ...fresh, warning: `${err.message}; this backup hashes every chunk instead (run \`lifeboat image verify ${parent.id}\`)` };
  }
}

/** The local image store as a backup target: it drafts the image and signs it with the store key. */
export function localTarget(store: ImageStore, opts: { passphrase?: string | undefined } = {}): BackupTarget<Manifest> {
  const passphrase = opts.passphrase !== undefined ? makePassphraseVerifier(opts.passphrase) : null;
  let session: ChunkSession | null = null;
  let draft: ImageDraft | null = null;
  let plan: BackupPlan | null = null;
  let parent: Manifest | null = null;
  return {
    async begin(source, { incremental, startedAt }) {
      store.assertWritable();
      const imageId = makeImageId(new Date(startedAt));
      // The session first: from here gc stays out, so the parent image's chunks we skip stay in the store.
      session = await store.chunks.beginSession(imageId);
      parent = !incremental || source.kind === 'stream' ? null : await store.findParent(source);
      const known = parent ? (await store.readIndex(parent)).digests : null;
      const lineage = parent && known ? await parentLineage(store, parent, known) : { salt: newFingerprintSalt(), pairs: null, warning: null };
      const warnings = lineage.warning ? [lineage.warning] : [];
      // Same data, weaker gate: say so rather than make an unprotected copy of a protected disk in silence.
      if (parent?.passphrase && !passphrase) warnings.push(`the previous image of this disk (${parent.id}) is protected by a restore passphrase, but this one is not: anyone who may restore can restore it; give a passphrase (--passphrase-file) to protect it`);
      plan = {
        imageId,
        chunkSize: store.config.chunkSize,
        parentId: parent?.id ?? null,
        known,
        parentPrints: lineage.pairs,
        fingerprintSalt: lineage.salt,
        fingerprintKey: fingerprintKey(store.key, lineage.salt),
        warnings,
        storeRef: store.chunks.ref,
        session,
        where: store.root,
      };
      return plan;
    },
    async indexFile() {
      if (!plan) throw bug('backup index before the target began');
      draft = await store.draftImage(plan.imageId);
      return draft.openFile('index');
    },
    async commit(f) {
      if (!plan || !draft || !session) throw bug('backup commit before the target began');
      // Hash the index as written: what the manifest certifies is what is on disk.
      const indexBytes = await draft.readFile('index');
      await draft.writeFile('fingerprints', f.fingerprintsBytes);
      // Every new chunk durable and named before the image that needs it can exist.
      await session.publish();
      const unsigned = backupManifest({
        ...f,
        id: plan.imageId,
        chunkSize: plan.chunkSize,
        parentId: plan.parentId,
        indexBytes,
        fingerprintSalt: plan.fingerprintSalt,
        passphrase,
      });
      const manifest = signManifest(unsigned, store.key);
      await draft.writeFile('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
      await draft.commit();
      return manifest;
    },
    async close() {
      await draft?.discard(); // nothing once committed
      await session?.close(); // drops what a failed backup staged; lets gc in again
    },
  };
}
