// Red-team cases against a real daemon, through the real CLI: a line break in a label,
// escape sequences in a label, the management database's disk filling during a job
// (a small tmpfs as <data-dir>/db) and full at start, a killed backup's staging, images
// written by the local CLI, a passphrase-protected image restored through the daemon.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { type Manifest, signManifest } from '../src/imaging/repo/manifest.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { type TestDaemon, exited, randomDisk, startDaemon } from './helpers/daemon.js';
import { CLI, lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';
import { mountTmpfs } from './helpers/system.js';

const ESC = String.fromCharCode(27);
let work: { dir: string; cleanup: () => void };
const daemons: TestDaemon[] = [];
const unmounts: Array<() => void> = [];

before(() => {
  work = tempDir(`lifeboat-harden-${process.pid}-`);
});

after(async () => {
  for (const d of daemons) await d.stop('SIGKILL');
  for (const u of unmounts) u();
  work.cleanup();
});

async function daemonIn(name: string, args: string[] = []): Promise<TestDaemon> {
  const d = await startDaemon(join(work.dir, name), { args });
  daemons.push(d);
  return d;
}

/** Rewrites an image's label in its manifest and certifies it again with the store's key: an image made before labels were checked. */
async function relabel(storeDir: string, id: string, label: string): Promise<void> {
  const store = await ImageStore.open(storeDir);
  const path = join(storeDir, 'images', id, 'manifest.json');
  const { certification: _c, ...unsigned } = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  writeFileSync(path, JSON.stringify(signManifest({ ...unsigned, label }, store.key)));
}

test('a line break in a label is refused at the API and the engine; an image that has one never stops the daemon nor fails later jobs', async () => {
  const dir = join(work.dir, 'newline');
  const d = await daemonIn('newline');
  const env = { LIFEBOAT_SOCKET: d.socket };
  const disk = join(work.dir, 'newline', 'newline.img'); // in the daemon's docked directory
  randomDisk(disk, 8);

  const api = lifeboat(['backup', '--device', disk, '--label', 'a\nb', '--wait'], { env });
  assert.equal(api.code, 2, api.stderr); // refused by the API's schema: a usage error
  assert.match(api.stderr, /label: contains a line break \(U\+000A at position 2\)/);
  const engine = lifeboat(['image', 'backup', disk, '--store', join(d.dataDir, 'store'), '--label', 'a\nb']);
  assert.equal(engine.code, 1);
  assert.match(engine.stderr, /label contains a line break/);

  // An image with such a label already in the store (written before labels were checked).
  const first = lifeboat(['backup', '--device', disk, '--label', 'first', '--wait', '--json'], { env });
  assert.equal(first.code, 0, first.stderr);
  const bad = lastJson<{ imageId: string }>(first).imageId;
  await relabel(join(d.dataDir, 'store'), bad, 'a\nb');
  assert.equal(await d.stop(), 0);
  const again = await startDaemon(dir); // it starts (no restart loop)
  daemons.push(again);
  assert.match(again.log(), /image left out of the database: image .* label contains a line break/);
  const later = lifeboat(['backup', '--device', disk, '--label', 'later', '--wait', '--json'], { env });
  assert.equal(later.code, 0, `a later job fails: ${later.stderr}`);
  const listed = JSON.parse(lifeboat(['images', 'list', '--json'], { env }).stdout) as Array<{ id: string; label: string }>;
  assert.deepEqual(listed.map((i) => i.label), ['later']);
  assert.ok(!listed.some((i) => i.id === bad));
});

test('escape sequences in a label are refused on input and shown escaped on output, never sent raw to the terminal', async () => {
  const d = await daemonIn('escapes');
  const env = { LIFEBOAT_SOCKET: d.socket };
  const disk = join(work.dir, 'escapes', 'escapes.img');
  randomDisk(disk, 8);
  const evil = `lab${ESC}[2J${ESC}]0;PWN\u0007gel`;

  const refused = lifeboat(['backup', '--device', disk, '--label', evil], { env });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /label: contains a control character \(U\+001B at position 4\)/);
  assert.ok(!refused.stderr.includes(ESC), 'the error printed the raw escape');
  const bidi = lifeboat(['machines', 'add', '--name', 'pc-1', '--mac', '52:54:00:00:00:01', '--notes', 'invoice\u202eexe.pdf'], { env });
  assert.equal(bidi.code, 2);
  assert.match(bidi.stderr, /bidirectional override/);

  // An image labelled so before the check: the local list shows it escaped.
  const store = join(work.dir, 'escapes-store');
  const made = lifeboat(['image', 'backup', disk, '--store', store, '--label', 'x', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const id = lastJson<{ id: string }>(made).id;
  await relabel(store, id, evil);
  for (const args of [['image', 'list', '--store', store], ['image', 'show', id, '--store', store]]) {
    const r = lifeboat(args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(ESC) && !r.stdout.includes('\u0007'), `${args[1]} printed raw control characters`);
    assert.match(r.stdout, /lab\\x1b\[2J\\x1b\]0;PWN\\x07gel/);
  }
});

test('image list shows an image that fails certification as damaged and exits 1', () => {
  const store = join(work.dir, 'damaged-store');
  const disk = join(work.dir, 'damaged.img');
  randomDisk(disk, 4);
  const made = lifeboat(['image', 'backup', disk, '--store', store, '--json']);
  const id = lastJson<{ id: string }>(made).id;
  const path = join(store, 'images', id, 'manifest.json');
  writeFileSync(path, readFileSync(path, 'utf8').replace('"diskSize": ', '"diskSize": 1'));
  const r = lifeboat(['image', 'list', '--store', store]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`${id}\\s+DAMAGED`));
  assert.doesNotMatch(r.stdout, /no images/);
  assert.match(r.stderr, /1 image\(s\) .* failed certification/);
});

test('the database disk filling during a job fails that job, keeps the daemon up read-only, and the next start recovers', async () => {
  const name = 'fulldb';
  const dataDir = join(work.dir, name, 'data');
  const db = join(dataDir, 'db');
  unmounts.push(mountTmpfs(db, 'size=2m'));
  const d = await daemonIn(name);
  const env = { LIFEBOAT_SOCKET: d.socket };
  const disk = join(work.dir, name, 'fulldb.img'); // in the daemon's docked directory
  randomDisk(disk, 8);

  // A full disk bites a write that needs a new block. The image list's datafile is filled
  // (images the local CLI makes, listed through the daemon) until its last block cannot take
  // one more record; then the disk fills, a backup runs, and its image, committed, cannot be
  // recorded at its end: the job must fail, and the daemon stay up.
  const imagesDb = join(db, 'images.db');
  for (let last = statSync(imagesDb).size, i = 0; i < 40; i++) {
    assert.equal(lifeboat(['image', 'backup', disk, '--store', join(d.dataDir, 'store')]).code, 0);
    assert.equal(lifeboat(['images', 'list'], { env }).code, 0);
    const size = statSync(imagesDb).size;
    if (4096 - (size % 4096) < size - last) break;
    last = size;
  }
  sh(`dd if=/dev/zero of=${join(db, 'fill')} bs=64k 2>/dev/null || true`);
  const job = lastJson<{ id: string }>(lifeboat(['backup', '--device', disk, '--json'], { env }));
  const watched = lifeboat(['jobs', 'watch', job.id], { env });
  assert.equal(watched.code, 1, watched.stdout);
  assert.match(watched.stderr, /failed: the job's state could not be written .*no space left/);
  assert.equal(d.child.exitCode, null, `the daemon died: ${d.log()}`);

  const health = await new ApiClient(d.socket).health();
  assert.equal(health.database.writable, false);
  assert.match(health.database.problem ?? '', /no space left/);
  const shown = JSON.parse(lifeboat(['jobs', 'show', job.id, '--json'], { env }).stdout) as { state: string };
  assert.equal(shown.state, 'failed');
  const refused = lifeboat(['machines', 'add', '--name', 'pc-9', '--mac', '52:54:00:00:00:09'], { env });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refuses writes since an earlier write failed/);

  // Still full at the next start: a clear refusal that says what to free.
  assert.equal(await d.stop(), 0);
  const full = spawnSync(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--socket', join(work.dir, name, 'api2.sock'), '--config', '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(full.status, 1, full.stderr);
  assert.match(full.stderr, /the filesystem holding the management database \(.*\) is full: .* Free at least that much/);

  sh(`rm ${join(db, 'fill')}`);
  const again = await startDaemon(join(work.dir, name));
  daemons.push(again);
  const after = JSON.parse(lifeboat(['jobs', 'show', job.id, '--json'], { env }).stdout) as { state: string };
  assert.ok(['interrupted', 'failed'].includes(after.state), after.state);
  // The device is free again: a new backup runs to the end.
  const next = lifeboat(['backup', '--device', disk, '--wait'], { env });
  assert.equal(next.code, 0, next.stderr);
  await again.stop();
  await exited(again.child);
});

test("a killed backup's staging is cleared at the next start; images the local CLI wrote are listed at once; a protected image restores with --passphrase-file", async () => {
  const name = 'staging';
  let d = await daemonIn(name);
  const env = { LIFEBOAT_SOCKET: d.socket };
  const disk = join(work.dir, name, 'staging.img');
  randomDisk(disk, 300);
  const tmp = join(d.dataDir, 'store', 'tmp');
  lifeboat(['backup', '--device', disk], { env });
  for (let i = 0; i < 100 && readdirSync(tmp).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(readdirSync(tmp).length >= 3, 'the backup staged nothing');
  await d.stop('SIGKILL');
  d = await startDaemon(join(work.dir, name));
  daemons.push(d);
  assert.deepEqual(readdirSync(tmp), []);

  const small = join(work.dir, name, 'small.img');
  randomDisk(small, 4);
  const pass = join(work.dir, 'pass');
  writeFileSync(pass, 'correct horse\n');
  const local = lifeboat(['image', 'backup', small, '--store', join(d.dataDir, 'store'), '--passphrase-file', pass, '--json']);
  const id = lastJson<{ id: string }>(local).id;
  const listed = JSON.parse(lifeboat(['images', 'list', '--json'], { env }).stdout) as Array<{ id: string; hasPassphrase: boolean }>;
  assert.deepEqual(listed.map((i) => [i.id, i.hasPassphrase]), [[id, true]]);

  const target = join(work.dir, name, 'restored.img');
  const without = lifeboat(['restore', '--image', id, '--device', target, '--yes', '--wait'], { env });
  assert.equal(without.code, 1);
  assert.match(without.stderr, /protected by a restore passphrase: give it with --passphrase-file/);
  const ok = lifeboat(['restore', '--image', id, '--device', target, '--yes', '--wait', '--passphrase-file', pass], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(sh(`cmp ${small} ${target} && echo same`).trim(), 'same');
  assert.ok(!d.log().includes('correct horse'), 'the passphrase was logged');
  assert.ok(!sh(`cat ${join(d.dataDir, 'db')}/*.db`).includes('correct horse'), 'the passphrase was stored');

  // A later backup of the same disk without one says it is unprotected.
  const unprotected = lifeboat(['backup', '--device', small, '--wait'], { env });
  assert.equal(unprotected.code, 0, unprotected.stderr);
  assert.match(unprotected.stderr, /is protected by a restore passphrase, but this one is not/);
});

test('a label on a machine job is kept', async () => {
  const d = await daemonIn('machine-label');
  const env = { LIFEBOAT_SOCKET: d.socket };
  assert.equal(lifeboat(['machines', 'add', '--name', 'pc-1', '--mac', '52:54:00:00:00:01'], { env }).code, 0);
  const r = lifeboat(['backup', '--machine', 'pc-1', '--label', 'before upgrade', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const job = lastJson<{ id: string; label?: string }>(r);
  assert.equal(job.label, 'before upgrade');
  assert.equal((JSON.parse(lifeboat(['jobs', 'show', job.id, '--json'], { env }).stdout) as { label?: string }).label, 'before upgrade');
});
