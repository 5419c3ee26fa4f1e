import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource, FileSource } from './block-source.js';

/** Every block 1..last of a source, as a transfer asks for them (ready() first, load() when not read yet). */
async function allBlocks(source: { ready(k: number): Buffer | null; load(k: number): Promise<Buffer> }, size: number, bs: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let k = 1; k <= Math.floor(size / bs) + 1; k++) out.push(Buffer.from(source.ready(k) ?? (await source.load(k))));
  return out;
}

test('a file read ahead in chunks gives the same blocks as slicing it, whatever the block size; the last block is short or empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-blocks-'));
  try {
    for (const [size, bs] of [[0, 512], [511, 512], [512, 512], [1_000_003, 1468], [262_144 * 2, 512], [300_000, 8], [70_000, 65464]] as const) {
      const data = randomBytes(size);
      const path = join(dir, `f${size}-${bs}`);
      writeFileSync(path, data);
      const source = new FileSource(await open(path, 'r'), size, bs);
      const blocks = await allBlocks(source, size, bs);
      await source.close();
      assert.deepEqual(Buffer.concat(blocks), data, `${size}/${bs}`);
      assert.ok(blocks.slice(0, -1).every((b) => b.length === bs), `${size}/${bs}: full blocks`);
      assert.equal(blocks.at(-1)?.length, size % bs, `${size}/${bs}: the last block`);
      const generated = await allBlocks(new BufferSource(data, bs), size, bs);
      assert.deepEqual(generated, blocks, `${size}/${bs}: generated content in the same blocks`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that shrinks while it is sent: the missing block is an error, not a short block taken for the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-blocks-'));
  try {
    const path = join(dir, 'f');
    writeFileSync(path, randomBytes(2 << 20));
    const source = new FileSource(await open(path, 'r'), 2 << 20, 1024);
    assert.equal((await source.load(1)).length, 1024);
    truncateSync(path, 1000);
    await assert.rejects(source.load(1500), /the file shrank while it was sent/);
    await source.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
