import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSpans, zeroOutside } from './extents.js';
import { UsedCursor, planDisk } from './disk-plan.js';
import { bufferReader } from './layout/types.js';

test('the used cursor cuts extents into per-chunk ranges, whatever the chunking', () => {
  const used = [
    { start: 0, length: 10 },
    { start: 15, length: 20 },
    { start: 60, length: 1 },
  ];
  for (const size of [1, 3, 7, 16, 100]) {
    const cursor = new UsedCursor(used);
    const covered: number[] = [];
    for (let start = 0; start < 70; start += size) {
      for (const r of cursor.rangesIn(start, Math.min(70, start + size))) {
        assert.ok(r.start >= 0 && r.start + r.length <= size);
        for (let b = 0; b < r.length; b++) covered.push(start + r.start + b);
      }
    }
    const expected = used.flatMap((e) => Array.from({ length: e.length }, (_, k) => e.start + k));
    assert.deepEqual(covered, expected, `chunk size ${size}`);
  }
});

test('read spans join small holes; zeroOutside clears exactly the unused bytes', () => {
  const ranges = [
    { start: 0, length: 100 },
    { start: 200, length: 50 },
    { start: 1 << 20, length: 10 },
  ];
  assert.deepEqual(readSpans(ranges), [
    { start: 0, length: 250 },
    { start: 1 << 20, length: 10 },
  ]);
  const buf = Buffer.alloc((1 << 20) + 20, 0xaa);
  zeroOutside(buf, buf.length, ranges);
  for (const [at, value] of [[0, 0xaa], [99, 0xaa], [100, 0], [199, 0], [200, 0xaa], [249, 0xaa], [250, 0], [(1 << 20) + 9, 0xaa], [(1 << 20) + 10, 0]] as const) {
    assert.equal(buf[at], value, `byte ${at}`);
  }
});

test('a disk with no table and no filesystem (noise or zeros) is imaged raw, all of it', async () => {
  const noise = Buffer.alloc(8 << 20);
  for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE((i * 2654435761) >>> 0, i);
  const plan = await planDisk(bufferReader(noise));
  assert.equal(plan.table, 'none');
  assert.equal(plan.usedBytes, noise.length);
  assert.equal(plan.wholeDisk?.method, 'raw');
  const empty = await planDisk(bufferReader(Buffer.alloc(8 << 20)));
  assert.equal(empty.usedBytes, 8 << 20, 'an unrecognised disk is imaged raw, all of it — never guessed');
});
