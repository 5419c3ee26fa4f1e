// `lifeboat images import <id> --from <store dir>`: an image a machine's agent wrote to a
// destination (a disk attached to the client, now docked in the appliance, or a share the
// appliance reaches at its `localPath`) is checked whole and brought into the appliance's
// store. The directory must lie under an allowed root (the docked directory, a share's
// localPath) once symlinks are resolved, and so must every file of the image read from it
// (a symlink out of it is refused before anything is read through it). Everything is
// verified in the source store first — manifest (with that store's own key), index digest,
// every chunk decoded and SHA-256'd — then each chunk the appliance lacks is staged (checked
// again on the way in), published, and the image committed with a manifest signed by the
// appliance's key. A problem anywhere: a clear error and nothing committed.
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { conflictError, integrityError, userError } from '../errors.js';
import { verifyImage } from '../imaging/verify.js';
import { STORE_LAYOUT, chunkRelativePath } from '../imaging/repo/formats.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { chunkLength, digestAt } from '../imaging/repo/index-file.js';
import { type Manifest, type UnsignedManifest, signManifest } from '../imaging/repo/manifest.js';

/** The real path of `path`, required to be `root` or under it. Throws a user error naming what escaped. */
export function resolvedInside(root: string, path: string, what: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw userError(`${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) throw userError(`${what} ${path} leads to ${real}, outside ${root}: a symlink out of it is refused`);
  return real;
}

/** The store directory `from`, resolved, under one of `roots` (each resolved too). Throws a user error that names the roots. */
export function importDir(from: string, roots: readonly string[]): { dir: string; root: string } {
  if (!isAbsolute(from)) throw userError(`--from ${from}: give an absolute path`);
  const real = (() => {
    try {
      return realpathSync(from);
    } catch (err) {
      throw userError(`--from ${from} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the lifeboat-store directory of the docked disk or share`);
    }
  })();
  for (const r of roots) {
    let root: string;
    try {
      root = realpathSync(r);
    } catch {
      continue;
    }
    if (real === root || real.startsWith(root + sep)) return { dir: real, root: real };
  }
  throw userError(`--from ${from} (${real}) is not under the docked directory or a share's localPath (${roots.join(', ') || 'none configured'}): mount the disk there first`);
}

export interface ImportResult {
  manifest: Manifest;
  chunksCopied: number;
  chunksPresent: number;
}

/** Imports image `id` from the store at `from` into `target`. */
export async function importImage(target: ImageStore, id: string, from: string, roots: readonly string[]): Promise<ImportResult> {
  target.assertWritable();
  const { dir } = importDir(from, roots);
  if ((await target.imageIds()).includes(id)) throw conflictError(`image ${id} is already in the appliance's store: nothing to import`);
  for (const f of [STORE_LAYOUT.config, STORE_LAYOUT.key]) resolvedInside(dir, join(dir, f), 'the store file');
  const source = await ImageStore.open(dir).catch((err: Error) => {
    throw userError(`--from ${from}: ${err.message}`);
  });
  for (const f of ['manifest.json', 'index', 'fingerprints']) {
    try {
      resolvedInside(dir, join(source.imageDir(id), f), `image ${id}'s file`);
    } catch (err) {
      if (f === 'fingerprints' && /ENOENT/.test((err as Error).message)) continue;
      if (f === 'manifest.json' && /ENOENT/.test((err as Error).message)) throw userError(`no image ${id} in the store at ${from}: see \`lifeboat image list --store ${from}\``);
      throw err;
    }
  }
  const manifest = await source.readManifest(id);
  const index = await source.readIndex(manifest);
  const sizes = new Map<string, number>();
  for (let i = 0; i < index.chunkCount; i++) {
    const d = digestAt(index, i);
    if (d) sizes.set(d.toString('hex'), chunkLength(index, i));
  }
  for (const digest of sizes.keys()) resolvedInside(dir, join(dir, chunkRelativePath(digest)), `chunk ${digest.slice(0, 12)}…`);

  const report = await verifyImage(source, id);
  if (!report.ok) throw integrityError(`image ${id} at ${from} failed verification, so nothing was imported: ${report.problems.slice(0, 3).map((p) => p.message).join('; ')}`);

  const digests = [...sizes.keys()];
  const present = digests.length ? await target.chunks.has(digests) : [];
  const session = await target.chunks.beginSession(id);
  let copied = 0;
  try {
    for (const [i, digest] of digests.entries()) {
      if (present[i]) continue;
      await session.stage(digest, await source.chunks.getFrame(digest), sizes.get(digest) as number); // decoded and hashed again
      copied++;
    }
    await session.publish();
    const draft = await target.draftImage(id);
    try {
      const indexBytes = readFileSync(join(source.imageDir(id), 'index'));
      if (indexBytes.length !== manifest.index.bytes || createHash('sha256').update(indexBytes).digest('hex') !== manifest.index.sha256) throw integrityError(`the index of image ${id} at ${from} changed while it was imported: nothing was imported`);
      await draft.writeFile('index', indexBytes);
      // Fingerprints are keyed by the source store's key: meaningless here. The next backup of this disk starts a new lineage.
      const { certification: _c, fingerprints: _f, ...rest } = manifest;
      const parent = rest.parent !== null && (await target.imageIds()).includes(rest.parent) ? rest.parent : null;
      const signed = signManifest({ ...rest, parent } as UnsignedManifest, target.key);
      await draft.writeFile('manifest.json', `${JSON.stringify(signed, null, 2)}\n`);
      await draft.commit();
      return { manifest: signed, chunksCopied: copied, chunksPresent: digests.length - copied };
    } finally {
      await draft.discard();
    }
  } finally {
    await session.close();
  }
}
