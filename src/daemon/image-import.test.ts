import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { backupImage } from '../imaging/backup.js';
import { chunkRelativePath } from '../imaging/repo/formats.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { verifyManifest } from '../imaging/repo/manifest.js';
import { verifyImage } from '../imaging/verify.js';
import { importImage } from './image-import.js';

const work = mkdtempSync(join(tmpdir(), 'lifeboat-import-'));
after(() => rmSync(work, { recursive: true, force: true }));
const CHUNK = 64 * 1024;

/** A docked directory holding a client disk's store with one image of a small raw disk. */
async function dockedStore(name: string): Promise<{ docked: string; dir: string; id: string; source: ImageStore }> {
  const docked = join(work, name, 'docked');
  const dir = join(docked, 'usb', 'lifeboat-store');
  mkdirSync(docked, { recursive: true });
  const disk = join(work, name, 'disk.img');
  const data = Buffer.alloc(CHUNK * 12);
  for (let i = 0; i < 8; i++) randomBytes(CHUNK / 2).copy(data, i * CHUNK); // half random: compresses a little; 4 chunks of zeros
  writeFileSync(disk, data);
  const source = await ImageStore.open(dir, { create: true, chunkSize: CHUNK });
  const m = await backupImage({ store: source, source: disk, raw: true, host: 'pc-1', workers: 1 });
  return { docked, dir, id: m.id, source };
}

const appliance = async (name: string) => ImageStore.open(join(work, name, 'store'), { create: true, chunkSize: CHUNK });
const chunkFiles = (store: ImageStore) => readdirSync(join(store.root, 'chunks'), { recursive: true }).filter((p) => String(p).length > 60);

test('an image from a docked store is verified, copied and signed by the appliance: the appliance verifies it', async () => {
  const { docked, dir, id } = await dockedStore('good');
  const target = await appliance('good');
  const r = await importImage(target, id, dir, [docked]);
  assert.equal(r.manifest.id, id);
  assert.equal(r.chunksCopied, 8);
  assert.equal(r.chunksPresent, 0);
  verifyManifest(await target.readManifest(id), target.key, 'imported'); // the appliance's key, not the client store's
  assert.equal(r.manifest.fingerprints, undefined, 'fingerprints keyed by the other store are dropped');
  assert.equal(r.manifest.host, 'pc-1');
  const report = await verifyImage(target, id, { workers: 1 });
  assert.ok(report.ok, JSON.stringify(report.problems));
  await assert.rejects(importImage(target, id, dir, [docked]), (e: unknown) => e instanceof LifeboatError && e.kind === 'conflict' && /already in the appliance/.test(e.message));
});

test('a damaged chunk: a clear error, nothing committed, no chunk added', async () => {
  const { docked, dir, id, source } = await dockedStore('damaged');
  const index = await source.readIndex(await source.readManifest(id));
  const digest = index.digests.subarray(0, 32).toString('hex');
  const path = join(dir, chunkRelativePath(digest));
  const frame = readFileSync(path);
  frame[frame.length - 9] = (frame[frame.length - 9] as number) ^ 0xff;
  writeFileSync(path, frame);
  const target = await appliance('damaged');
  await assert.rejects(importImage(target, id, dir, [docked]), (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity' && /failed verification, so nothing was imported/.test(e.message) && e.message.includes(digest.slice(0, 16)));
  assert.deepEqual(await target.imageIds(), []);
  assert.deepEqual(chunkFiles(target), []);
});

test('paths: outside the docked directory, relative, a store or a chunk that is a symlink out: refused before anything is read', async () => {
  const { docked, dir, id } = await dockedStore('links');
  const target = await appliance('links');
  const refused = async (p: Promise<unknown>, why: RegExp) => assert.rejects(p, (e: unknown) => e instanceof LifeboatError && e.kind === 'user' && why.test(e.message));
  await refused(importImage(target, id, dir, [join(work, 'elsewhere')]), /not under the docked directory/);
  await refused(importImage(target, id, 'usb/lifeboat-store', [docked]), /absolute path/);
  await refused(importImage(target, id, join(docked, 'nothing'), [docked]), /cannot be read/);
  // the store directory itself a symlink to a store outside the docked directory
  const other = await dockedStore('links-other');
  symlinkSync(other.dir, join(docked, 'sneaky'));
  await refused(importImage(target, other.id, join(docked, 'sneaky'), [docked]), /not under the docked directory/);
  const outside = join(work, 'links', 'outside-chunk');
  // one chunk a symlink to a file outside (with the same bytes: refused for where it leads, not for what it holds)
  const source = await ImageStore.open(dir);
  const digest = (await source.readIndex(await source.readManifest(id))).digests.subarray(0, 32).toString('hex');
  const chunk = join(dir, chunkRelativePath(digest));
  writeFileSync(outside, readFileSync(chunk));
  unlinkSync(chunk);
  symlinkSync(outside, chunk);
  await refused(importImage(target, id, dir, [docked]), /outside .*symlink out of it is refused/);
  await refused(importImage(target, '20261125T180000Z-0000abcd', dir, [docked]), /no image 20261125T180000Z-0000abcd/);
  assert.deepEqual(await target.imageIds(), []);
});
