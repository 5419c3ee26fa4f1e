import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growMbrPrimary, growTool, lastPartition } from './grow.js';

test('growTool: which filesystems grow in place, and why the others do not', () => {
  assert.deepEqual(growTool('ext4'), { tool: 'resize2fs' });
  assert.deepEqual(growTool('ext2'), { tool: 'resize2fs' });
  assert.deepEqual(growTool('ntfs'), { tool: 'ntfsresize' });
  for (const fs of ['fat32', 'swap', null]) assert.ok('reason' in growTool(fs), String(fs));
});

test('growMbrPrimary extends only a primary entry, keeps everything else of sector 0', () => {
  const sector = Buffer.alloc(512, 0x11);
  sector.fill(0, 446, 510);
  sector.writeUInt16LE(0xaa55, 510);
  sector[446 + 16 + 4] = 0x83;
  sector.writeUInt32LE(2048, 446 + 16 + 8);
  sector.writeUInt32LE(4096, 446 + 16 + 12);
  const grown = growMbrPrimary(sector, 2, 100000);
  assert.ok(grown);
  assert.equal(grown.newSectors, 100000 - 2048);
  assert.equal(grown.sector.readUInt32LE(446 + 16 + 12), 100000 - 2048);
  assert.ok(grown.sector.subarray(0, 446).equals(sector.subarray(0, 446)), 'boot code untouched');
  assert.equal(growMbrPrimary(sector, 2, 6000), null, 'no room to grow');
  assert.equal(growMbrPrimary(sector, 5, 100000), null, 'logical partitions are not grown');
  assert.equal(growMbrPrimary(sector, 2, 2 ** 40)?.newSectors, 0xffffffff - 2048, 'capped at 2^32 sectors');
});

test('lastPartition ignores extended containers', () => {
  const p = (number: number, start: number, size: number, typeName = 'linux') => ({ number, start, size, type: '0x83', typeName });
  assert.equal(lastPartition([p(1, 0, 10), p(2, 10, 100, 'extended'), p(5, 20, 30)])?.number, 5);
  assert.equal(lastPartition([]), null);
});
