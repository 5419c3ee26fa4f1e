import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSelftest, selftestLine } from './selftest.js';

test('the selftest sends chunks through the worker pool and the LZ4 codec, checks them, and leaves nothing behind', async () => {
  const scratch = mkdtempSync(join(tmpdir(), `lifeboat-selftest-test-${process.pid}-`));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = scratch; // os.tmpdir() reads it: the selftest's store goes here
  try {
    const r = await runSelftest({ chunks: 4, chunkSize: 256 << 10, workers: 2 });
    assert.equal(r.bytes, 4 * (256 << 10));
    assert.equal(r.chunks, 4);
    assert.equal(r.workers, 2);
    // Two text chunks compress to little, two random ones are stored whole (plus frame overhead).
    assert.ok(r.storedBytes > 2 * (256 << 10) && r.storedBytes < 2.5 * (256 << 10), `stored ${r.storedBytes}`);
    assert.match(r.lz4Version, /^\d+\.\d+\.\d+$/);
    assert.match(selftestLine(r), /^selftest OK: 1\.0 MiB in 4 chunks through 2 worker threads, LZ4 \(liblz4 [\d.]+\) [\d.]+x, every frame decoded and SHA-256 checked/);
    assert.deepEqual(readdirSync(scratch).filter((n) => n.startsWith('lifeboat-selftest-')), [], 'its temporary store is removed'); // (tsx's workers keep their cache here too)
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(scratch, { recursive: true, force: true });
  }
});
