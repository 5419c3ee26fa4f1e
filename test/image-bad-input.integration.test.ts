// Every "bad input" of issue 2 through the real CLI on real files: a missing or odd
// source, an unwritable or full store, a backup killed mid-way, damaged chunks,
// index and manifest, a too-small target, passphrases, a missing --yes, usage
// errors and gc during a backup. Each case checks the exit code, that the message
// names the subject and says what to do, and what the store and target hold after.
// The tmpfs cases need root (mount); they are skipped otherwise.
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CliResult, lastJson, lifeboat, lifeboatSpawn, tempDir } from './helpers/cli.js';
import { mountTmpfs } from './helpers/system.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;
const ROOT_ONLY = process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs';
const NO_PASSPHRASE = { LIFEBOAT_PASSPHRASE: '' };

// ---------------------------------------------------------------- helpers

/** Runs a command, throwing with its stderr when it fails. */
function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** `bytes` of random data in a new file, from /dev/urandom. */
function randomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const r = spawnSync('head', ['-c', String(bytes), '/dev/urandom'], { stdio: ['ignore', fd, 'pipe'] });
    if (r.status !== 0) throw new Error(`head -c ${bytes} /dev/urandom failed: ${r.stderr}`);
  } finally {
    closeSync(fd);
  }
}

/** 13 MiB: random chunk A, random chunk B, A again (a chunk used twice), a 1 MiB random tail. */
function dedupDisk(path: string): { content: Buffer; digestA: string; digestB: string } {
  const a = randomBytes(CHUNK);
  const b = randomBytes(CHUNK);
  const content = Buffer.concat([a, b, a, randomBytes(MiB)]);
  writeFileSync(path, content);
  return { content, digestA: sha(a), digestB: sha(b) };
}

/** A file of `bytes` filled with one byte value, standing for an existing disk. */
function patternFile(path: string, bytes: number, fill = 0xa5): string {
  writeFileSync(path, Buffer.alloc(bytes, fill));
  return fileSha(path);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileSha = (path: string) => sha(readFileSync(path));

/** True when two files hold the same bytes (cmp, so large files are not read into memory). */
function sameBytes(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

function chunkPath(store: string, digest: string): string {
  return join(store, 'chunks', digest.slice(0, 4), digest);
}

function chunkFiles(store: string): string[] {
  const dir = join(store, 'chunks');
  return readdirSync(dir).flatMap((sub) => readdirSync(join(dir, sub)).map((n) => join(dir, sub, n)));
}

const tmpEntries = (store: string) => readdirSync(join(store, 'tmp'));

function backup(source: string, store: string, extra: string[] = [], env: Record<string, string> = NO_PASSPHRASE): string {
  const r = lifeboat(['image', 'backup', source, '--store', store, '--json', ...extra], { env });
  assert.equal(r.code, 0, r.stderr);
  return lastJson<{ id: string }>(r).id;
}

function listIds(store: string): string[] {
  const r = lifeboat(['image', 'list', '--store', store, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Array<{ id: string }>).map((i) => i.id);
}

function restore(id: string, target: string, store: string, extra: string[] = [], env: Record<string, string> = NO_PASSPHRASE): CliResult {
  return lifeboat(['image', 'restore', id, target, '--store', store, ...extra], { env });
}

/** Asserts the CLI failed with `code`, without a success line, and returns its stderr. */
function failed(r: CliResult, code: number): string {
  assert.equal(r.code, code, `exit code ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /committed|restored image|is intact/, 'no success line on a failure');
  return r.stderr;
}

/** Waits until a line of `stream` satisfies `match`; null when the process ends or time runs out first. */
function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', match: (line: string) => boolean, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let pending = '';
    const finish = (line: string | null) => {
      clearTimeout(timer);
      child[stream]?.off('data', onData);
      child.off('exit', onExit);
      resolve(line);
    };
    const onData = (data: Buffer) => {
      pending += data.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const hit = lines.find(match);
      if (hit !== undefined) finish(hit);
    };
    const onExit = () => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    child[stream]?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** SIGKILLs a child (if it still runs) and waits for it to be gone. */
async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

const isJson = (line: string) => line.startsWith('{');

// ---------------------------------------------------------------- 1. source

test('backup of a missing source fails naming the path, commits nothing', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const missing = join(t.dir, 'no-such-disk.img');
    const err = failed(lifeboat(['image', 'backup', missing, '--store', store]), 1);
    assert.match(err, /no-such-disk\.img/);
    assert.match(err, /does not exist/);
    assert.match(err, /check the path/);
    if (existsSync(join(store, 'store.json'))) {
      assert.deepEqual(listIds(store), []);
      assert.deepEqual(tmpEntries(store), []);
    }
  } finally {
    t.cleanup();
  }
});

test('backup of a directory or an empty file fails naming it, commits nothing', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const dir = join(t.dir, 'a-directory');
    mkdirSync(dir);
    let err = failed(lifeboat(['image', 'backup', dir, '--store', store]), 1);
    assert.match(err, /a-directory/);
    assert.match(err, /is a directory/);
    assert.match(err, /not a disk or disk-image file/);

    const empty = join(t.dir, 'empty.img');
    writeFileSync(empty, '');
    err = failed(lifeboat(['image', 'backup', empty, '--store', store]), 1);
    assert.match(err, /empty\.img/);
    assert.match(err, /empty|0 bytes/);

    if (existsSync(join(store, 'store.json'))) {
      assert.deepEqual(listIds(store), []);
      assert.deepEqual(tmpEntries(store), []);
    }
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 2. store not writable

test('backup into an existing store on a filesystem remounted read-only fails cleanly; the store keeps its image', { skip: ROOT_ONLY }, () => {
  const t = tempDir();
  try {
    const mnt = join(t.dir, 'mnt');
    const store = join(mnt, 'store');
    const source = join(t.dir, 'disk.img');
    randomFile(source, 3 * MiB);
    const unmount = mountTmpfs(mnt, 'size=8m');
    try {
      const first = backup(source, store);
      run('mount', ['-o', 'remount,ro', mnt]);
      const other = join(t.dir, 'other.img');
      randomFile(other, 2 * MiB);
      const err = failed(lifeboat(['image', 'backup', other, '--store', store]), 1);
      assert.match(err, new RegExp(store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.match(err, /read-only/);
      assert.match(err, /writable location/);
      assert.deepEqual(listIds(store), [first]);
    } finally {
      unmount();
    }
  } finally {
    t.cleanup();
  }
});

test('backup that must create its store on a read-only filesystem fails naming the store and saying it is read-only', { skip: ROOT_ONLY }, () => {
  const t = tempDir();
  try {
    const mnt = join(t.dir, 'ro');
    const source = join(t.dir, 'disk.img');
    randomFile(source, MiB);
    const unmount = mountTmpfs(mnt, 'ro,size=1m');
    try {
      for (const store of [join(mnt, 'store'), mnt]) {
        const err = failed(lifeboat(['image', 'backup', source, '--store', store]), 1);
        assert.match(err, new RegExp(store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        assert.doesNotMatch(err, /does not exist/, 'the store path is fine; its filesystem is read-only');
        assert.match(err, /read-only/);
        assert.match(err, /writable location/);
      }
      assert.deepEqual(readdirSync(mnt), []);
    } finally {
      unmount();
    }
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 3. disk full

test('disk full mid-backup: clean error, nothing committed, no leftovers, gc runs, the store keeps working', { skip: ROOT_ONLY }, () => {
  const t = tempDir();
  try {
    const mnt = join(t.dir, 'small');
    const store = join(mnt, 'store');
    const big = join(t.dir, 'big.img');
    randomFile(big, 64 * MiB);
    const unmount = mountTmpfs(mnt, 'size=24m');
    try {
      const err = failed(lifeboat(['image', 'backup', big, '--store', store]), 1);
      assert.match(err, /no space left on device/);
      assert.match(err, /free space|store gc/);
      assert.match(err, /store/);
      assert.deepEqual(listIds(store), []);
      assert.deepEqual(tmpEntries(store), [], 'no staging leftovers after the failed backup');
      assert.deepEqual(readdirSync(join(store, 'locks')), [], 'the backup lock is released');

      const gc = lifeboat(['store', 'gc', '--store', store]);
      assert.equal(gc.code, 0, gc.stderr);
      assert.deepEqual(chunkFiles(store), [], 'gc leaves no chunk that no image uses');

      const small = join(t.dir, 'small.img');
      randomFile(small, 5 * MiB);
      const id = backup(small, store);
      const out = join(t.dir, 'restored.img');
      const r = restore(id, out, store);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(sameBytes(small, out), 'restored byte-identical');
    } finally {
      unmount();
    }
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 4. killed mid-backup

test('backup killed with SIGKILL mid-way: nothing half-listed, the next backup works, gc clears its temp files', async () => {
  const t = tempDir();
  let child: ChildProcess | null = null;
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    randomFile(source, 400 * MiB);
    child = lifeboatSpawn(['image', 'backup', source, '--store', store, '--json'], NO_PASSPHRASE);
    const progress = await waitForLine(
      child,
      'stdout',
      (l) => {
        if (!isJson(l)) return false;
        const e = JSON.parse(l) as { type: string; bytesDone?: number };
        return e.type === 'progress' && (e.bytesDone ?? 0) > 0;
      },
      3000,
    );
    const pid = child.pid as number;
    await killHard(child);
    assert.equal(child.signalCode, 'SIGKILL', `the backup ended before it was killed (progress line: ${progress})`);

    assert.deepEqual(listIds(store), [], 'nothing half-listed');
    const leftovers = tmpEntries(store);
    assert.ok(leftovers.length > 0, 'the killed backup left its staging behind (else this test proves nothing)');

    const id = backup(source, store);
    const out = join(t.dir, 'restored.img');
    const r = restore(id, out, store);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(sameBytes(source, out), 'restored byte-identical');

    const gc = lifeboat(['store', 'gc', '--store', store, '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.ok(lastJson<{ tempFilesRemoved: number }>(gc).tempFilesRemoved >= 1, gc.stdout);
    assert.deepEqual(tmpEntries(store), [], `gc clears the temp files of the dead pid ${pid}`);
    assert.deepEqual(readdirSync(join(store, 'locks')), [], 'the dead backup\'s lock is gone');
  } finally {
    if (child) await killHard(child);
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 5. flipped byte in a chunk

test('a flipped byte in a stored chunk: verify names the chunk and every disk range it covers; restore fails and leaves no file', async (tc) => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    const { digestA, digestB } = dedupDisk(source);
    const id = backup(source, store);
    const file = chunkPath(store, digestA);
    const bytes = readFileSync(file);
    writeFileSync(file, flip(bytes, Math.floor(bytes.length / 2)));

    const v = failed(lifeboat(['image', 'verify', id, '--store', store]), 1);
    const bad = v.split('\n').filter((l) => l.includes(digestA));
    assert.equal(bad.length, 1, v);
    assert.match(bad[0] ?? '', /damaged/);
    assert.match(bad[0] ?? '', new RegExp(`\\b0\\+${CHUNK}\\b`), 'first place chunk A covers');
    assert.match(bad[0] ?? '', new RegExp(`\\b${2 * CHUNK}\\+${CHUNK}\\b`), 'second place chunk A covers');
    assert.ok(!v.includes(digestB), 'the intact chunk is not blamed');
    assert.match(v, new RegExp(`image ${id} failed verification`));
    assert.match(v, /restore an older image|back up the disk again/);

    const target = join(t.dir, 'new-disk.img');
    const err = failed(restore(id, target, store), 1);
    assert.match(err, new RegExp(digestA));
    assert.equal(existsSync(target), false, 'no target file that looks like a finished restore');

    await tc.test('the restore error says what to do', () => {
      assert.match(err, new RegExp(id));
      assert.match(err, /older image|verify|back up/);
    });
  } finally {
    t.cleanup();
  }
});

test('damage anywhere in a compressed chunk frame (header, block size, data, truncation) is caught by verify and restore', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'text.img');
    const text = Buffer.from(Array.from({ length: 200000 }, (_, i) => `line ${i} of a compressible disk\n`).join('')).subarray(0, 6 * MiB);
    writeFileSync(source, text);
    const id = backup(source, store);
    const digest = sha(text.subarray(0, CHUNK));
    const file = chunkPath(store, digest);
    const original = readFileSync(file);
    assert.ok(original.length < CHUNK / 2, 'the chunk is stored compressed');
    // [what, damage, also restore]: restore decodes in the same worker code as verify, so it is run where decoding goes deepest.
    const damages: Array<[string, (b: Buffer) => Buffer, boolean]> = [
      ['header checksum', (b) => flip(b, 14), false],
      ['block size', (b) => flip(b, 18), false],
      ['block data', (b) => flip(b, Math.floor(b.length / 2)), true],
      ['truncated', (b) => b.subarray(0, b.length - 100), true],
    ];
    for (const [what, damage, alsoRestore] of damages) {
      writeFileSync(file, damage(Buffer.from(original)));
      const v = failed(lifeboat(['image', 'verify', id, '--store', store]), 1);
      assert.match(v, new RegExp(`BAD: .*${digest}.*damaged.*disk bytes 0\\+${CHUNK}`), `${what}: ${v}`);
      if (!alsoRestore) continue;
      const target = join(t.dir, 'out.img');
      const r = failed(restore(id, target, store), 1);
      assert.match(r, new RegExp(digest), `${what}: ${r}`);
      assert.doesNotMatch(r, /internal error/, `${what}: a damaged chunk is not a bug`);
      assert.equal(existsSync(target), false, what);
    }
  } finally {
    t.cleanup();
  }
});

function flip(b: Buffer, at: number): Buffer {
  b[at] = (b[at] ?? 0) ^ 0x5a;
  return b;
}

// ---------------------------------------------------------------- 6. missing chunk

test('a missing chunk file: verify names it; restore is refused before writing a byte', async (tc) => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    const { digestA, digestB } = dedupDisk(source);
    const id = backup(source, store);
    // Remove B (chunk 1): restore must refuse before writing chunk 0.
    rmSync(chunkPath(store, digestB));

    const v = failed(lifeboat(['image', 'verify', id, '--store', store]), 1);
    const bad = v.split('\n').filter((l) => l.includes(digestB));
    assert.equal(bad.length, 1, v);
    assert.match(bad[0] ?? '', /missing/);
    assert.match(bad[0] ?? '', new RegExp(`\\b${CHUNK}\\+${CHUNK}\\b`));
    assert.ok(!v.includes(digestA), 'the present chunk is not blamed');

    const existing = join(t.dir, 'existing-disk.img');
    const before = patternFile(existing, 16 * MiB);
    const err = failed(restore(id, existing, store, ['--yes']), 1);
    assert.match(err, new RegExp(digestB));
    assert.match(err, /missing/);
    assert.match(err, new RegExp(`image ${id}`));
    assert.equal(fileSha(existing), before, 'existing target unchanged');
    assert.equal(statSync(existing).size, 16 * MiB);

    const fresh = join(t.dir, 'new-disk.img');
    failed(restore(id, fresh, store), 1);
    assert.equal(existsSync(fresh), false, 'new target not created');

    await tc.test('the restore error says what to do', () => {
      assert.match(err, /older image|back up/);
    });
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 7. truncated index

test('a truncated index: verify and restore fail with a message about the index; gc removes nothing', async (tc) => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    dedupDisk(source);
    const id = backup(source, store);
    const index = join(store, 'images', id, 'index');
    run('truncate', ['-s', '-10', index]);

    const v = failed(lifeboat(['image', 'verify', id, '--store', store]), 1);
    assert.match(v, new RegExp(`index of image ${id}`));
    assert.match(v, /damaged or truncated/);
    assert.match(v, /restore an older image|back up the disk again/);

    const existing = join(t.dir, 'existing-disk.img');
    const before = patternFile(existing, 16 * MiB);
    const err = failed(restore(id, existing, store, ['--yes']), 1);
    assert.match(err, new RegExp(`index of image ${id}`));
    assert.match(err, /damaged or truncated/);
    assert.equal(fileSha(existing), before, 'existing target unchanged');
    const fresh = join(t.dir, 'new-disk.img');
    failed(restore(id, fresh, store), 1);
    assert.equal(existsSync(fresh), false);

    const chunks = chunkFiles(store).length;
    const gc = failed(lifeboat(['store', 'gc', '--store', store]), 1);
    assert.match(gc, /before removing anything/);
    assert.match(gc, new RegExp(`image rm ${id}`));
    assert.equal(chunkFiles(store).length, chunks, 'gc removed nothing');

    await tc.test('the restore error says what to do', () => {
      assert.match(err, /older image|back up/);
    });
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 8. edited manifest

test('an edited manifest (its label, or a stats number): verify, show and restore fail certification; list shows it as damaged and exits 1', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    dedupDisk(source);
    const id = backup(source, store, ['--label', 'original']);
    const path = join(store, 'images', id, 'manifest.json');
    const original = readFileSync(path, 'utf8');
    const edit = (change: (m: { label: string; stats: { bytesNew: number } }) => void) => {
      const m = JSON.parse(original) as { label: string; stats: { bytesNew: number } };
      change(m);
      writeFileSync(path, `${JSON.stringify(m, null, 2)}\n`);
    };
    const existing = join(t.dir, 'existing-disk.img');
    const before = patternFile(existing, 16 * MiB);
    const fresh = join(t.dir, 'new-disk.img');

    edit((m) => (m.label = 'edited by hand'));
    const v = failed(lifeboat(['image', 'verify', id, '--store', store]), 1);
    assert.match(v, new RegExp(`image ${id} fails certification`));
    assert.match(v, /modified after it was signed/);
    assert.match(v, /restore an older image/);
    failed(lifeboat(['image', 'show', id, '--store', store]), 1);
    let err = failed(restore(id, existing, store, ['--yes']), 1);
    assert.match(err, new RegExp(`image ${id} fails certification`));
    assert.match(err, /do not restore it|restore an older image/);
    failed(restore(id, fresh, store), 1);
    assert.equal(existsSync(fresh), false, 'new target not created');
    for (const json of [true, false]) {
      const l = lifeboat(['image', 'list', '--store', store, ...(json ? ['--json'] : [])]);
      assert.equal(l.code, 1, l.stderr);
      assert.match(l.stderr, new RegExp(`image ${id} is damaged: image ${id} fails certification`));
      if (json) assert.deepEqual((JSON.parse(l.stdout) as Array<{ id: string; damaged?: boolean }>).map((i) => [i.id, i.damaged]), [[id, true]]);
      else assert.match(l.stdout, new RegExp(`${id}\\s+DAMAGED`));
    }

    edit((m) => (m.stats.bytesNew += 1));
    assert.match(failed(lifeboat(['image', 'verify', id, '--store', store]), 1), new RegExp(`image ${id} fails certification`));
    err = failed(restore(id, existing, store, ['--yes']), 1);
    assert.match(err, new RegExp(`image ${id} fails certification`));
    assert.equal(fileSha(existing), before, 'existing target unchanged');
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 9. target too small

test('a target smaller than the image is refused before writing a byte, naming both sizes', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    dedupDisk(source);
    const id = backup(source, store);
    const target = join(t.dir, 'small-disk.img');
    const size = 8 * MiB;
    const before = patternFile(target, size);
    const err = failed(restore(id, target, store, ['--yes']), 1);
    assert.match(err, /small-disk\.img/);
    assert.match(err, new RegExp(`\\b${size} bytes`));
    assert.match(err, new RegExp(`\\b${13 * MiB} bytes`));
    assert.match(err, /choose a larger disk/);
    assert.equal(statSync(target).size, size);
    assert.equal(fileSha(target), before, 'target unchanged');
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 10. passphrase

test('a protected image: missing or wrong passphrase is refused with the target unchanged; the right one restores byte-identically', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    dedupDisk(source);
    const right = join(t.dir, 'right.pass');
    const wrong = join(t.dir, 'wrong.pass');
    writeFileSync(right, 'correct horse battery staple\n');
    writeFileSync(wrong, 'correct horse battery stapler\n');
    const id = backup(source, store, ['--passphrase-file', right]);

    const existing = join(t.dir, 'existing-disk.img');
    const before = patternFile(existing, 13 * MiB);
    const fresh = join(t.dir, 'new-disk.img');

    let err = failed(restore(id, existing, store, ['--yes']), 1);
    assert.match(err, new RegExp(`image ${id} is protected by a restore passphrase`));
    assert.match(err, /--passphrase-file|LIFEBOAT_PASSPHRASE/);

    err = failed(restore(id, existing, store, ['--yes', '--passphrase-file', wrong]), 1);
    assert.match(err, new RegExp(`wrong restore passphrase for image ${id}`));
    assert.match(err, /nothing was written/);

    err = failed(restore(id, fresh, store, [], { LIFEBOAT_PASSPHRASE: 'correct horse' }), 1);
    assert.match(err, new RegExp(`wrong restore passphrase for image ${id}`), 'from the environment too');
    assert.equal(existsSync(fresh), false, 'new target not created');
    assert.equal(fileSha(existing), before, 'existing target unchanged');

    const ok = restore(id, existing, store, ['--yes', '--passphrase-file', right]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`restored image ${id}`));
    assert.ok(sameBytes(source, existing), 'restored byte-identical');
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 11. no --yes, no terminal

test('restore onto an existing target without --yes and without a terminal is a usage error; the target is unchanged', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    dedupDisk(source);
    const id = backup(source, store);
    const target = join(t.dir, 'existing-disk.img');
    const before = patternFile(target, 13 * MiB);
    const err = failed(restore(id, target, store), 2);
    assert.match(err, /existing-disk\.img/);
    assert.match(err, /--yes/);
    assert.equal(fileSha(target), before, 'target unchanged');
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 12. usage errors

test('usage errors exit 2 and say what was wrong: unknown subcommand, unknown option, missing argument', () => {
  const t = tempDir();
  try {
    const defaultStore = join(t.dir, 'default-store');
    const env = { LIFEBOAT_STORE: defaultStore };
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /unknown command 'bogus'/],
      [['image', 'frobnicate'], /unknown command 'frobnicate'/],
      [['image', 'backup', '--frobnicate'], /unknown option '--frobnicate'/],
      [['image', 'backup'], /missing required argument 'device-or-file'/],
      [['image', 'restore'], /missing required argument 'image-id'/],
      [['image', 'export', '20261125T181200Z-3fa9c2d1', '--store'], /option '--store <dir>' argument missing/],
    ];
    for (const [args, message] of cases) {
      const r = lifeboat(args, { env });
      const err = failed(r, 2);
      assert.match(err, message, args.join(' '));
      assert.match(err, /--help/, `${args.join(' ')}: points at --help`);
    }
    assert.equal(existsSync(defaultStore), false, 'no store created by a usage error');
  } finally {
    t.cleanup();
  }
});

test('a missing subcommand is a usage error (exit 2)', () => {
  for (const args of [['image'], ['store'], []]) {
    const r = lifeboat(args);
    assert.equal(r.code, 2, `lifeboat ${args.join(' ')} exited ${r.code}`);
  }
});

test('an image id like ../../etc is a usage error for every command, and nothing outside the store is touched', () => {
  const t = tempDir();
  try {
    const store = join(t.dir, 'store');
    const source = join(t.dir, 'disk.img');
    randomFile(source, 2 * MiB);
    const id = backup(source, store);
    // store/images/../../etc is t.dir/etc: make it look like an image directory.
    const outside = join(t.dir, 'etc');
    mkdirSync(outside);
    for (const name of ['index', 'manifest.json']) writeFileSync(join(outside, name), readFileSync(join(store, 'images', id, name)));
    const snapshot = () => readdirSync(outside).map((n) => `${n}:${fileSha(join(outside, n))}`).join(',');
    const before = snapshot();
    const out = join(t.dir, 'out.img');
    const commands = (bad: string) => [
      ['image', 'verify', bad],
      ['image', 'show', bad],
      ['image', 'rm', bad],
      ['image', 'restore', bad, out, '--yes'],
      ['image', 'export', bad, '--out', out],
    ];
    // Every command with an id that reaches outside; `rm` (which would move a directory away) with other odd ones.
    const attempts = [...commands('../../etc'), ...[`${id}/../../../etc`, '/etc', `${id}\n`].map((bad) => ['image', 'rm', bad])];
    for (const args of attempts) {
      const err = failed(lifeboat([...args, '--store', store]), 2);
      assert.match(err, /invalid image id/, `${JSON.stringify(args)}: ${err}`);
      assert.match(err, /image list/, 'says where valid ids come from');
    }
    assert.equal(snapshot(), before, 'the directory outside the store is untouched');
    assert.equal(existsSync(out), false, 'no restore or export target created');
    assert.deepEqual(listIds(store), [id]);
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------- 13. gc during a backup

test('gc during a running backup is refused naming the backup; the committed image keeps its chunks', async () => {
  const t = tempDir();
  let child: ChildProcess | null = null;
  try {
    const store = join(t.dir, 'store');
    const first = join(t.dir, 'first.img');
    randomFile(first, 5 * MiB);
    const firstId = backup(first, store);
    const chunksBefore = chunkFiles(store).sort();

    const source = join(t.dir, 'disk.img');
    randomFile(source, 64 * MiB);
    child = lifeboatSpawn(['image', 'backup', source, '--store', store, '--json'], NO_PASSPHRASE);
    const start = await waitForLine(child, 'stdout', (l) => isJson(l) && (JSON.parse(l) as { type: string }).type === 'start', 10000);
    assert.ok(start, 'the backup started');
    // Freeze the backup so it is certainly still running while gc looks.
    child.kill('SIGSTOP');
    const running = (JSON.parse(start) as { imageId: string }).imageId;

    const err = failed(lifeboat(['store', 'gc', '--store', store]), 1);
    assert.match(err, /a backup is running/);
    assert.match(err, new RegExp(running));
    assert.match(err, new RegExp(`pid ${child.pid}`));
    assert.match(err, /after it finishes/);
    for (const c of chunksBefore) assert.ok(existsSync(c), `gc kept ${c}`);

    await killHard(child);
    const gc = lifeboat(['store', 'gc', '--store', store]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(tmpEntries(store), []);
    assert.deepEqual(chunkFiles(store).sort(), chunksBefore);
    const v = lifeboat(['image', 'verify', firstId, '--store', store]);
    assert.equal(v.code, 0, v.stderr);
  } finally {
    if (child) await killHard(child);
    t.cleanup();
  }
});
