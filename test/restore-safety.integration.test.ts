// What a restore keeps safe, through the real CLI and daemon on real files: a running
// restore holds its image's chunks (store gc and image rm refuse, naming it, and the
// restore completes byte-identically); a damaged chunk found by --verify-first (and by
// the daemon's restore jobs onto a disk with partitions, by default) stops the restore
// before its first write, with the target unchanged and the job saying so.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import type { Job } from '../src/api/contract.js';
import { type CliResult, lastJson, lifeboat, lifeboatSpawn, sh, tempDir } from './helpers/cli.js';
import { randomDisk, startDaemon } from './helpers/daemon.js';
import { mountTmpfs } from './helpers/system.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;
const NO_PASSPHRASE = { LIFEBOAT_PASSPHRASE: '' };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileSha = (path: string) => sha(readFileSync(path));
const chunkPath = (store: string, digest: string) => join(store, 'chunks', digest.slice(0, 4), digest);

function chunkFiles(store: string): string[] {
  const dir = join(store, 'chunks');
  return readdirSync(dir).flatMap((sub) => readdirSync(join(dir, sub)).map((n) => join(dir, sub, n)));
}

function backup(source: string, store: string): string {
  const r = lifeboat(['image', 'backup', source, '--store', store, '--json'], { env: NO_PASSPHRASE });
  assert.equal(r.code, 0, r.stderr);
  return lastJson<{ id: string }>(r).id;
}

function failed(r: CliResult, code = 1): string {
  assert.equal(r.code, code, `exit code ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stderr;
}

/** Flips one byte in the middle of the stored chunk holding disk bytes [i*CHUNK, (i+1)*CHUNK) of `source`. */
function damageChunk(store: string, source: string, i: number): string {
  const digest = sha(readFileSync(source).subarray(i * CHUNK, (i + 1) * CHUNK));
  const file = chunkPath(store, digest);
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] as number) ^ 0xff;
  writeFileSync(file, bytes);
  return digest;
}

/** An existing disk: `mib` MiB of 0xa5 with an MBR partition table of two partitions. */
function partitionedDisk(path: string, mib: number): string {
  writeFileSync(path, Buffer.alloc(mib * MiB, 0xa5));
  sh(`printf 'label: dos\\n,${mib / 2}M,L\\n,,L\\n' | sfdisk --no-reread --no-tell-kernel -q ${path}`);
  return fileSha(path);
}

/** Resolves with the first stdout line of `child` that `match` accepts; rejects when it ends first. */
function lineOf(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let pending = '';
    child.stdout?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const hit = lines.find(match);
      if (hit !== undefined) resolve(hit);
    });
    child.once('exit', (code) => reject(new Error(`the restore ended (${code}) before the line was seen`)));
  });
}

test('store gc and image rm during a running restore are refused naming it; the restore completes byte-identically; afterwards both work', async () => {
  const t = tempDir(`lifeboat-hold-${process.pid}-`);
  let child: ChildProcess | null = null;
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    randomDisk(source, 96);
    const id = backup(source, store);
    const chunks = chunkFiles(store).sort();
    assert.equal(chunks.length, 24);

    const target = join(t.dir, 'restored.img');
    child = lifeboatSpawn(['image', 'restore', id, target, '--store', store, '--json'], NO_PASSPHRASE);
    const exitCode = once(child, 'exit');
    await lineOf(child, (l) => l.startsWith('{') && (JSON.parse(l) as { type: string }).type === 'start');
    child.kill('SIGSTOP'); // certainly still restoring while gc and rm look
    try {
      const rm = failed(lifeboat(['image', 'rm', id, '--store', store]));
      assert.match(rm, new RegExp(`image ${id} cannot be removed: a restore is running \\(image ${id}, pid ${child.pid}\\)`));
      assert.match(rm, /after that finishes/);
      const gc = failed(lifeboat(['store', 'gc', '--store', store]));
      assert.match(gc, new RegExp(`a restore is running \\(image ${id}, pid ${child.pid}\\): run gc after it finishes`));
      assert.deepEqual(chunkFiles(store).sort(), chunks, 'gc removed no chunk');
      assert.ok(existsSync(join(store, 'images', id)), 'the image is still listed');
    } finally {
      child.kill('SIGCONT');
    }
    const [code] = (await exitCode) as [number | null];
    assert.equal(code, 0, 'the restore finished');
    assert.equal(fileSha(target), fileSha(source), 'restored byte-identically');

    // The lock went with the restore: rm and gc now do their work.
    assert.equal(lifeboat(['image', 'rm', id, '--store', store]).code, 0);
    const gc = lifeboat(['store', 'gc', '--store', store, '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(chunkFiles(store), [], 'gc removed the chunks of the removed image');
    assert.deepEqual(readdirSync(join(store, 'locks')), [], 'no lock left behind');
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    t.cleanup();
  }
});

test('a store on a read-only filesystem (no gc can touch it) still verifies and restores: the hold needs no lock file there', () => {
  const t = tempDir(`lifeboat-hold-ro-${process.pid}-`);
  try {
    const mnt = join(t.dir, 'mnt');
    const store = join(mnt, 'store');
    const source = join(t.dir, 'disk.img');
    randomDisk(source, 3);
    const unmount = mountTmpfs(mnt, 'size=8m');
    try {
      const id = backup(source, store);
      sh(`mount -o remount,ro ${mnt}`);
      const v = lifeboat(['image', 'verify', id, '--store', store]);
      assert.equal(v.code, 0, v.stderr);
      const target = join(t.dir, 'restored.img');
      const r = lifeboat(['image', 'restore', id, target, '--store', store, '--verify-first'], { env: NO_PASSPHRASE });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fileSha(target), fileSha(source));
    } finally {
      unmount();
    }
  } finally {
    t.cleanup();
  }
});

test('a damaged chunk: a streaming restore leaves the target incomplete; with --verify-first it is refused before the first write and the target is unchanged', () => {
  const t = tempDir(`lifeboat-vfirst-${process.pid}-`);
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    randomDisk(source, 32);
    const id = backup(source, store);
    const digest = damageChunk(store, source, 7); // the last chunk: everything before it gets written by a stream

    const streamed = join(t.dir, 'streamed.img');
    writeFileSync(streamed, Buffer.alloc(32 * MiB, 0xa5));
    const before = fileSha(streamed);
    let err = failed(lifeboat(['image', 'restore', id, streamed, '--store', store, '--yes'], { env: NO_PASSPHRASE }));
    assert.match(err, new RegExp(digest));
    assert.match(err, /is incomplete — do not use it/);
    assert.notEqual(fileSha(streamed), before, 'the stream overwrote part of the target');

    const checked = join(t.dir, 'checked.img');
    writeFileSync(checked, Buffer.alloc(32 * MiB, 0xa5));
    err = failed(lifeboat(['image', 'restore', id, checked, '--store', store, '--yes', '--verify-first'], { env: NO_PASSPHRASE }));
    assert.match(err, new RegExp(`chunk 7 \\(${digest}\\) is damaged`));
    assert.match(err, new RegExp(`disk bytes ${7 * CHUNK}\\+${CHUNK}`));
    assert.match(err, new RegExp(`nothing was written: ${checked.replace(/[.]/g, '\\.')} is unchanged`));
    assert.equal(fileSha(checked), before, 'not one byte of the target changed');

    // An intact image restores with --verify-first and says it checked first.
    const good = join(t.dir, 'good.img');
    randomDisk(good, 8);
    const goodId = backup(good, store);
    const r = lifeboat(['image', 'restore', goodId, checked, '--store', store, '--yes', '--verify-first'], { env: NO_PASSPHRASE });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /every chunk checked before writing/);
    assert.equal(sha(readFileSync(checked).subarray(0, 8 * MiB)), fileSha(good));
  } finally {
    t.cleanup();
  }
});

async function finished(api: ApiClient, id: string): Promise<Job> {
  let job = await api.job(id);
  for (let i = 0; i < 600 && ['queued', 'running', 'cancelling'].includes(job.state); i++) {
    await new Promise((r) => setTimeout(r, 100));
    job = await api.job(id);
  }
  return job;
}

test('daemon: a restore job onto a disk with partitions checks every chunk first; a damaged one fails it with the disk unchanged, and the job says so', async () => {
  const t = tempDir(`lifeboat-vfirst-daemon-${process.pid}-`);
  const daemon = await startDaemon(t.dir);
  try {
    const api = new ApiClient(daemon.socket);
    const source = join(t.dir, 'source.img');
    randomDisk(source, 32);
    const b = await finished(api, (await api.createJob({ type: 'backup', device: source })).id);
    assert.equal(b.state, 'done', b.error);
    const image = b.imageId as string;
    damageChunk(join(daemon.dataDir, 'store'), source, 7);

    const disk = join(t.dir, 'disk.img');
    const before = partitionedDisk(disk, 32);
    const job = await finished(api, (await api.createJob({ type: 'restore', image, device: disk, confirm: true })).id);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /chunk 7 .* is damaged/);
    assert.equal(job.outcome, `failed before anything was written to ${disk}: it is unchanged`);
    assert.equal(job.targetIncomplete, false);
    assert.equal(fileSha(disk), before, 'the disk is unchanged');

    // Asked not to check first, the same job streams and leaves the disk incomplete, and says so.
    const streamed = await finished(api, (await api.createJob({ type: 'restore', image, device: disk, confirm: true, verifyFirst: false })).id);
    assert.equal(streamed.state, 'failed');
    assert.equal(streamed.targetIncomplete, true);
    assert.match(streamed.outcome ?? '', new RegExp(`failed: ${disk.replace(/[.]/g, '\\.')} is incomplete`));
    assert.notEqual(fileSha(disk), before);
  } finally {
    await daemon.stop();
    t.cleanup();
  }
});
