import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planDisk } from './disk-plan.js';
import { bufferReader } from './layout/types.js';
import type { ImageIndex } from './repo/index-file.js';
import { describePlan } from './disk-plan.js';
import { imageShape, minimumTargetSize, planFixups } from './retarget.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;

/** A 64 MiB GPT disk made by sgdisk: partition 1 at 1–17 MiB, partition 2 at 17–49 MiB; 15 MiB free at the end. */
function gptDisk(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-retarget-'));
  try {
    const file = join(dir, 'disk.img');
    for (const cmd of [['truncate', '-s', '64M', file], ['sgdisk', '-o', '-n', '1:2048:+16M', '-n', '2:0:+32M', file]]) {
      const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An index whose chunks are data except those listed as unused. */
function index(diskSize: number, unused: number[]): ImageIndex {
  const count = Math.ceil(diskSize / CHUNK);
  const digests = Buffer.alloc(count * 32, 0x22);
  for (const i of unused) digests.fill(0xff, i * 32, (i + 1) * 32);
  return { chunkSize: CHUNK, diskSize, chunkCount: count, digests };
}

test('same-size fresh target: nothing to fix up', async () => {
  const disk = gptDisk();
  const plan = await planDisk(bufferReader(disk));
  const shape = await imageShape(describePlan(plan), bufferReader(disk));
  assert.equal(shape.minimumSize, (49 * MiB) / 512 * 512 + 33 * 512);
  assert.equal(minimumTargetSize(describePlan(plan), disk.length), shape.minimumSize, 'the manifest-only estimate matches the image\'s own table');
  assert.equal(minimumTargetSize(null, disk.length), disk.length, 'no layout: the whole disk');
  const f = planFixups(shape, index(disk.length, []), disk.subarray(0, 512), disk.length, true);
  assert.deepEqual(f, { zero: [], writes: [] });
});

test('larger target: GPT relocated to the real end, stale backup zeroed, protective MBR resized', async () => {
  const disk = gptDisk();
  const shape = await imageShape(describePlan(await planDisk(bufferReader(disk))), bufferReader(disk));
  const target = 100 * MiB;
  const f = planFixups(shape, index(disk.length, []), disk.subarray(0, 512), target, true);
  assert.deepEqual(f.zero, [{ start: disk.length - 33 * 512, length: 33 * 512 }], 'old backup entries + header');
  const offsets = f.writes.map((w) => w.offset).sort((a, b) => a - b);
  assert.deepEqual(offsets, [0, 512, 1024, target - 33 * 512, target - 512]);
  const backup = f.writes.find((w) => w.offset === target - 512)?.data;
  assert.equal(backup?.subarray(0, 8).toString('latin1'), 'EFI PART');
});

test('existing larger target: signature wipes only where the restore wrote nothing', async () => {
  const disk = gptDisk();
  const shape = await imageShape(describePlan(await planDisk(bufferReader(disk))), bufferReader(disk));
  const target = 100 * MiB;
  // Chunks 13–15 (52–64 MiB) lie past the last partition: unused.
  // The target's old table had a partition at 54–70 MiB: its head lies in an unused chunk.
  const f = planFixups(shape, index(disk.length, [13, 14, 15]), disk.subarray(0, 512), target, false, [{ start: 54 * MiB, length: 16 * MiB }]);
  for (const z of f.zero) {
    const inUnused = z.start >= 52 * MiB && z.start + z.length <= 64 * MiB;
    const pastImage = z.start >= 64 * MiB;
    const staleGpt = z.start === disk.length - 33 * 512;
    assert.ok(inUnused || pastImage || staleGpt, `zeroed ${z.start}+${z.length} must not touch data the restore wrote`);
  }
  assert.ok(f.zero.some((z) => z.start === 54 * MiB && z.length >= MiB), 'the old partition\'s head is wiped');
  assert.ok(f.zero.some((z) => z.start === 69 * MiB), 'the old partition\'s tail (past the image) is wiped');
  assert.ok(f.zero.some((z) => z.start + z.length === target), 'the end of the target is wiped (then the backup GPT is written)');
});

test('smaller target: partitions fit, relocation written, the old backup (past the end) left alone', async () => {
  const disk = gptDisk();
  const shape = await imageShape(describePlan(await planDisk(bufferReader(disk))), bufferReader(disk));
  const target = 50 * MiB;
  assert.ok(target >= shape.minimumSize);
  const f = planFixups(shape, index(disk.length, [13, 14, 15]), disk.subarray(0, 512), target, true);
  assert.deepEqual(f.zero, []);
  assert.ok(f.writes.every((w) => w.offset + w.data.length <= target));
});
