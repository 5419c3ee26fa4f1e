// Chunk fingerprints end to end: an incremental backup recognises unchanged chunks by
// their keyed fingerprint instead of SHA-256, and nothing about fingerprints can make an
// image wrong — damaged, missing or even certified-but-wrong fingerprints cost speed or
// stop the backup with a clear message, and `image verify` finds them.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { backupImage } from '../src/imaging/backup.js';
import { encodeFingerprints } from '../src/imaging/repo/fingerprint.js';
import { FINGERPRINTS_HEADER_SIZE } from '../src/imaging/repo/formats.js';
import { type Manifest, signManifest } from '../src/imaging/repo/manifest.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { lastJson, lifeboat, tempDir } from './helpers/cli.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;
let work: { dir: string; cleanup: () => void };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Summary {
  id: string;
  parent: string | null;
  stats: { bytesHashed: number; chunksNew: number; chunksReused: number; bytesNew: number };
}

/** A backup through the CLI; `output` holds its progress and warnings (JSON lines) and stderr. */
function backup(disk: string, store: string): Summary & { output: string } {
  const r = lifeboat(['image', 'backup', disk, '--store', store, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return { ...lastJson<Summary>(r), output: r.stdout + r.stderr };
}

function restoresTo(store: string, id: string, expected: Buffer): void {
  const out = join(work.dir, `restored-${id}.img`);
  const r = lifeboat(['image', 'restore', id, out, '--store', store]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha(readFileSync(out)), sha(expected), `image ${id} restores the disk as it was`);
}

/** A disk file `name`.img of six distinct random chunks and 8 MiB of zeros, its own store, and a first backup. */
function firstBackup(name: string): { disk: string; store: string; content: Buffer; first: Summary } {
  const disk = join(work.dir, `${name}.img`);
  const store = join(work.dir, `store-${name}`);
  const content = Buffer.concat([randomBytes(6 * CHUNK), Buffer.alloc(2 * CHUNK)]);
  writeFileSync(disk, content);
  return { disk, store, content, first: backup(disk, store) };
}

/** Rewrites image `id`'s fingerprints with `edit` and certifies the manifest again with the store key (what only a bug could do). */
function recertifyFingerprints(store: string, id: string, edit: (prints: Buffer) => void): void {
  const dir = join(store, 'images', id);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const file = readFileSync(join(dir, 'fingerprints'));
  const prints = Buffer.from(file.subarray(FINGERPRINTS_HEADER_SIZE));
  edit(prints);
  const bytes = encodeFingerprints(manifest.chunkCount, prints);
  writeFileSync(join(dir, 'fingerprints'), bytes);
  const { certification: _c, ...unsigned } = manifest;
  const fingerprints = { ...(manifest.fingerprints as NonNullable<Manifest['fingerprints']>), sha256: sha(bytes), bytes: bytes.length };
  const signed = signManifest({ ...unsigned, fingerprints }, readFileSync(join(store, 'keys', 'manifest.key')));
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(signed, null, 2)}\n`);
}

before(() => {
  work = tempDir();
});
after(() => work.cleanup());

test('an unchanged disk is recognised by fingerprints, moved chunks too; only a changed chunk is hashed and stored', () => {
  const { disk, store, content, first } = firstBackup('a');
  assert.equal(first.stats.bytesHashed, 6 * CHUNK, 'a first backup hashes every chunk with data');

  const second = backup(disk, store);
  assert.equal(second.parent, first.id);
  assert.equal(second.stats.chunksReused, 6);
  // The first chunk with data (and every 32nd after it) is SHA-256'd as a spot check, however many
  // worker threads there are; the rest is taken on the fingerprint.
  assert.equal(second.stats.bytesHashed, CHUNK, `unchanged: ${second.stats.bytesHashed} bytes hashed`);

  // Chunks 0 and 1 swap places, one byte of chunk 3 changes.
  const changed = Buffer.concat([content.subarray(CHUNK, 2 * CHUNK), content.subarray(0, CHUNK), content.subarray(2 * CHUNK)]);
  changed[3 * CHUNK + 77] = (changed[3 * CHUNK + 77] as number) ^ 0x40;
  writeFileSync(disk, changed);
  const third = backup(disk, store);
  assert.equal(third.stats.chunksNew, 1, 'only the changed chunk is new');
  assert.equal(third.stats.chunksReused, 5, 'the swapped chunks are known by their fingerprints');
  assert.ok(third.stats.bytesHashed >= CHUNK && third.stats.bytesHashed <= 3 * CHUNK, `${third.stats.bytesHashed} bytes hashed`);
  restoresTo(store, third.id, changed);
  restoresTo(store, second.id, content);
  for (const id of [first.id, second.id, third.id]) {
    const v = lifeboat(['image', 'verify', id, '--store', store]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  }
});

test('damaged fingerprints of the parent: the backup says so, hashes every chunk and is right; verify names them', () => {
  const { disk, store, content, first } = firstBackup('b');
  const path = join(store, 'images', first.id, 'fingerprints');
  const file = readFileSync(path);
  file[FINGERPRINTS_HEADER_SIZE + 5] = (file[FINGERPRINTS_HEADER_SIZE + 5] as number) ^ 1;
  writeFileSync(path, file);

  const v = lifeboat(['image', 'verify', first.id, '--store', store]);
  assert.equal(v.code, 1, v.stdout + v.stderr);
  assert.match(v.stdout + v.stderr, /fingerprints of image \S+ do not match the manifest/);
  assert.match(v.stdout + v.stderr, /restores are not affected/);

  content[5 * CHUNK] = (content[5 * CHUNK] as number) ^ 1;
  writeFileSync(disk, content);
  const second = backup(disk, store);
  assert.match(second.output, /fingerprints of image \S+ do not match the manifest.*hashes every chunk instead/);
  assert.equal(second.stats.bytesHashed, 6 * CHUNK);
  assert.equal(second.stats.chunksNew, 1);
  assert.equal(second.stats.chunksReused, 5, 'unchanged chunks are still found by their SHA-256 in the parent');
  restoresTo(store, second.id, content);
  restoresTo(store, first.id, Buffer.concat([content.subarray(0, 5 * CHUNK), Buffer.from([(content[5 * CHUNK] as number) ^ 1]), content.subarray(5 * CHUNK + 1)]));
});

test('a parent made before fingerprints existed is used by SHA-256, and its child starts fingerprints', () => {
  const { disk, store, content, first } = firstBackup('c');
  // Make it look like an older image: no fingerprints file, no manifest entry; certified again.
  const dir = join(store, 'images', first.id);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const { certification: _c, fingerprints: _f, ...older } = manifest;
  const { bytesHashed: _b, ...olderStats } = older.stats;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(signManifest({ ...older, stats: olderStats }, readFileSync(join(store, 'keys', 'manifest.key')))));
  writeFileSync(join(dir, 'fingerprints'), ''); // left behind by hand: ignored, the manifest names none
  assert.equal(lifeboat(['image', 'verify', first.id, '--store', store]).code, 0, 'an image without fingerprints is intact');

  const second = backup(disk, store);
  assert.equal(second.parent, first.id);
  assert.equal(/warning/.test(second.output), false, second.output);
  assert.equal(second.stats.bytesHashed, 6 * CHUNK);
  assert.equal(second.stats.chunksReused, 6);
  const third = backup(disk, store);
  assert.ok(third.stats.bytesHashed <= 2 * CHUNK, 'the child has fingerprints for its own child');
  restoresTo(store, third.id, content);
});

test('fingerprints certified but wrong (a bug) are caught: verify names the chunks, a backup stops before committing', async () => {
  const { disk, store: storeDir, content, first } = firstBackup('d');
  // Swap the fingerprints of chunks 0 and 1: each now names the other's content.
  recertifyFingerprints(storeDir, first.id, (prints) => {
    const a = Buffer.from(prints.subarray(0, 16));
    prints.copy(prints, 0, 16, 32);
    a.copy(prints, 16);
  });
  const v = lifeboat(['image', 'verify', first.id, '--store', storeDir]);
  assert.equal(v.code, 1, v.stdout + v.stderr);
  assert.match(v.stdout + v.stderr, /fingerprint recorded for chunk 0 .* does not match its content/);

  const store = await ImageStore.open(storeDir);
  const images = () => store.imageIds();
  const before = await images();
  await assert.rejects(
    backupImage({ store, source: disk, fingerprintSpotCheck: 1 }),
    (err: Error) => /matches a fingerprint of parent image .* but hashes to .*nothing was committed.*--full/s.test(err.message),
  );
  assert.deepEqual(await images(), before, 'no image was committed');
  const full = lifeboat(['image', 'backup', disk, '--store', storeDir, '--full', '--json']);
  assert.equal(full.code, 0, full.stderr);
  restoresTo(storeDir, lastJson<Summary>(full).id, content);
});
