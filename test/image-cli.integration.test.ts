// The image engine end to end through the real CLI on real files: round trips,
// incremental backups, export, gc, JSON output, and the README's lz4-only recipe.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';

const MiB = 1 << 20;
let work: { dir: string; cleanup: () => void };
let disk: string;
let store: string;

/** 37 MiB + 512 bytes: random, zero, repeated and text regions, not a multiple of the chunk size. */
function makeDisk(path: string): Buffer {
  const block = randomBytes(4 * MiB);
  const content = Buffer.concat([
    randomBytes(6 * MiB),
    Buffer.alloc(10 * MiB),
    block,
    block,
    Buffer.from('lifeboat '.repeat(466034)).subarray(0, 4 * MiB),
    block,
    Buffer.alloc(5 * MiB),
    randomBytes(512),
  ]);
  writeFileSync(path, content);
  return content;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunkFiles = () => readdirSync(join(store, 'chunks')).flatMap((f) => readdirSync(join(store, 'chunks', f)).map((n) => join(store, 'chunks', f, n)));
const storedBytes = () => chunkFiles().reduce((sum, f) => sum + statSync(f).size, 0);

function backup(extra: string[] = []) {
  const r = lifeboat(['image', 'backup', disk, '--store', store, '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return lastJson<{ id: string; parent: string | null; stats: { bytesNew: number; chunksNew: number; chunksReused: number; chunksZero: number } }>(r);
}

before(() => {
  work = tempDir();
  disk = join(work.dir, 'disk.img');
  store = join(work.dir, 'store');
});
after(() => work.cleanup());

test('backup, restore and export round-trip byte-identical; zero and repeated chunks are stored once or not at all', () => {
  const content = makeDisk(disk);
  const r = lifeboat(['image', 'backup', disk, '--store', store, '--json', '--label', 'first']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'start');
  assert.ok(lines.some((l) => l.type === 'progress'), 'progress lines');
  const image = lastJson<{ id: string; label: string; stats: { chunksZero: number; chunksNew: number; chunksReused: number } }>(r);
  assert.match(image.id, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  assert.equal(image.label, 'first');
  // Chunks: rand, rand+zero, zero, zero, block, block, text, block, zero, zero+512 random bytes.
  assert.equal(image.stats.chunksZero, 3);
  assert.equal(image.stats.chunksReused, 2, 'the repeated block is stored once');
  assert.equal(image.stats.chunksNew, 5);
  assert.equal(chunkFiles().length, image.stats.chunksNew);

  const restored = join(work.dir, 'restored.img');
  const rr = lifeboat(['image', 'restore', image.id, restored, '--store', store, '--verify']);
  assert.equal(rr.code, 0, rr.stderr);
  assert.match(rr.stdout, /read back and verified/);
  assert.equal(sha(readFileSync(restored)), sha(content));

  const exported = join(work.dir, 'exported.img');
  const er = lifeboat(['image', 'export', image.id, '--out', exported, '--store', store]);
  assert.equal(er.code, 0, er.stderr);
  assert.equal(sha(readFileSync(exported)), sha(content));
  const blocks = Number(sh(`stat -c %b ${exported}`).trim()) * 512;
  assert.ok(blocks <= content.length - 12 * MiB + 64 * 1024, `export is sparse: the 3 zero chunks are holes (${blocks} bytes allocated)`);

  // Restore onto an existing, larger file: written from the start, zero regions really zeroed.
  const bigger = join(work.dir, 'bigger.img');
  writeFileSync(bigger, Buffer.alloc(content.length + 3 * MiB, 0xa5));
  const br = lifeboat(['image', 'restore', image.id, bigger, '--store', store, '--yes']);
  assert.equal(br.code, 0, br.stderr);
  assert.equal(sha(readFileSync(bigger).subarray(0, content.length)), sha(content));
});

test('an unchanged second backup adds no chunk data; a one-byte change adds one chunk', () => {
  const before = storedBytes();
  const files = chunkFiles().length;
  const second = backup();
  assert.ok(second.parent, 'made against the previous image');
  assert.equal(second.stats.bytesNew, 0);
  assert.equal(storedBytes(), before);
  assert.equal(chunkFiles().length, files);

  const fd = readFileSync(disk);
  fd[1234567] = (fd[1234567] as number) ^ 0xff;
  writeFileSync(disk, fd);
  const third = backup();
  assert.equal(third.stats.chunksNew, 1);
  assert.equal(chunkFiles().length, files + 1);
  const restored = join(work.dir, 'third.img');
  assert.equal(lifeboat(['image', 'restore', third.id, restored, '--store', store]).code, 0);
  assert.equal(sha(readFileSync(restored)), sha(fd));
});

test('list and show describe the images; verify passes on intact images', () => {
  const list = lifeboat(['image', 'list', '--store', store, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const images = JSON.parse(list.stdout) as Array<{ id: string; parent: string | null; hasPassphrase: boolean }>;
  assert.equal(images.length, 3);
  assert.equal(images[2]?.parent, null, 'newest first: the oldest (full) image is last');
  assert.equal(images[1]?.parent, images[2]?.id);
  assert.equal(images[0]?.hasPassphrase, false);
  assert.ok(!('protected' in (images[0] ?? {})), '"protected" is the appliance\'s word for kept from pruning, not for a passphrase');
  const show = lifeboat(['image', 'show', images[0]?.id as string, '--store', store]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /parent\s+\d{8}T/);
  assert.match(show.stdout, /HMAC-SHA256/);
  assert.match(show.stdout, /layout {7}(\S+ partition table|no partition table)/);
  for (const im of images) {
    const v = lifeboat(['image', 'verify', im.id, '--store', store]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /intact/);
  }
});

test('the manifest content digest equals the README formula over the raw disk', () => {
  const images = JSON.parse(lifeboat(['image', 'list', '--store', store, '--json']).stdout) as Array<{ id: string; contentSha256: string }>;
  const last = images[0];
  const viaTools = sh(`split -b 4194304 --filter 'sha256sum | cut -c1-64' ${disk} | xxd -r -p | sha256sum | cut -c1-64`).trim();
  assert.equal(viaTools, last?.contentSha256);
});

test("the README's recipe rebuilds the disk with only lz4 and standard tools", () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const m = /<!-- recipe:start -->\s*```sh\n([\s\S]*?)```\s*<!-- recipe:end -->/.exec(readme);
  assert.ok(m, 'README has the recipe between recipe markers');
  const images = JSON.parse(lifeboat(['image', 'list', '--store', store, '--json']).stdout) as Array<{ id: string }>;
  const id = images[0]?.id as string;
  const out = join(work.dir, 'by-hand.img');
  sh(`STORE='${store}' ID='${id}' OUT='${out}' bash -euo pipefail -c '${(m[1] as string).replace(/'/g, `'\\''`)}'`);
  assert.equal(sha(readFileSync(out)), sha(readFileSync(disk)));
});

test('rm unlists an image at once; gc then removes exactly the chunks nobody uses', () => {
  const images = JSON.parse(lifeboat(['image', 'list', '--store', store, '--json']).stdout) as Array<{ id: string }>;
  const files = chunkFiles().length;
  // The newest image alone holds the changed chunk; removing it frees exactly one chunk.
  const newest = images[0]?.id as string;
  assert.equal(lifeboat(['image', 'rm', newest, '--store', store]).code, 0);
  assert.equal((JSON.parse(lifeboat(['image', 'list', '--store', store, '--json']).stdout) as unknown[]).length, 2);
  const dry = lifeboat(['store', 'gc', '--store', store, '--dry-run', '--json']);
  assert.equal(JSON.parse(dry.stdout).chunksRemoved, 1);
  assert.equal(chunkFiles().length, files, 'dry run removes nothing');
  const gc = lifeboat(['store', 'gc', '--store', store, '--json']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.equal(JSON.parse(gc.stdout).chunksRemoved, 1);
  assert.equal(chunkFiles().length, files - 1);
  for (const im of images.slice(1)) assert.equal(lifeboat(['image', 'verify', im.id, '--store', store]).code, 0, 'remaining images intact');
});

test('a raw disk stream on standard input is backed up (cut by the chunker) and restores byte-identical', () => {
  const data = Buffer.concat([randomBytes(5 * MiB + 123), Buffer.alloc(10 * MiB), randomBytes(777)]);
  const r = lifeboat(['image', 'backup', '-', '--store', store, '--json', '--label', 'from stdin'], { input: data });
  assert.equal(r.code, 0, r.stderr);
  const image = lastJson<{ id: string; diskSize: number; source: { kind: string }; stats: { chunksZero: number } }>(r);
  assert.equal(image.diskSize, data.length);
  assert.equal(image.source.kind, 'stream');
  assert.ok(image.stats.chunksZero >= 1);
  const out = join(work.dir, 'stream.img');
  assert.equal(lifeboat(['image', 'restore', image.id, out, '--store', store]).code, 0);
  assert.equal(sha(readFileSync(out)), sha(data));
});

test("the README's recipe also handles unused-chunk markers: on a filesystem-aware image it equals `image export`", () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const recipe = (/<!-- recipe:start -->\s*```sh\n([\s\S]*?)```\s*<!-- recipe:end -->/.exec(readme) as RegExpExecArray)[1] as string;
  const fsDisk = join(work.dir, 'fs.img');
  sh(`mkdir -p ${work.dir}/tree && head -c 3M /dev/urandom > ${work.dir}/tree/a.bin && truncate -s 48M ${fsDisk} && mkfs.ext4 -q -F -d ${work.dir}/tree ${fsDisk}`);
  const r = lifeboat(['image', 'backup', fsDisk, '--store', store, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const image = lastJson<{ id: string; stats: { chunksUnused: number } }>(r);
  assert.ok(image.stats.chunksUnused > 0, 'the image has unused chunks');
  const exported = join(work.dir, 'fs-export.img');
  assert.equal(lifeboat(['image', 'export', image.id, '--out', exported, '--store', store]).code, 0);
  const byHand = join(work.dir, 'fs-by-hand.img');
  sh(`STORE='${store}' ID='${image.id}' OUT='${byHand}' bash -euo pipefail -c '${recipe.replace(/'/g, `'\\''`)}'`);
  assert.equal(sha(readFileSync(byHand)), sha(readFileSync(exported)));
  sh(`e2fsck -fn ${byHand}`);
});
