import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disksFromLsblk } from './local-devices.js';

test('lsblk JSON: disks and loop devices with a size, their mount points (children too); zram, roms, empty loops left out', () => {
  const json = {
    blockdevices: [
      { name: 'sda', path: '/dev/sda', size: 500107862016, model: 'Samsung SSD 870 ', serial: 'S5Y1', type: 'disk', mountpoints: [null], 'log-sec': 512, children: [{ path: '/dev/sda1', type: 'part', mountpoints: ['/boot/efi'] }] },
      { name: 'sdb', path: '/dev/sdb', size: '1000204886016', model: null, serial: null, type: 'disk', mountpoints: [null], 'log-sec': 4096 },
      { name: 'loop0', path: '/dev/loop0', size: 67108864, type: 'loop', mountpoints: [null] },
      { name: 'loop1', path: '/dev/loop1', size: 0, type: 'loop' },
      { name: 'zram0', path: '/dev/zram0', size: 1 << 30, type: 'disk', mountpoints: ['[SWAP]'] },
      { name: 'sr0', path: '/dev/sr0', size: 1 << 20, type: 'rom' },
    ],
  };
  assert.deepEqual(
    disksFromLsblk(json).map((d) => [d.path, d.model, d.serial, d.sizeBytes, d.logicalSectorSize, d.inUse]),
    [
      ['/dev/sda', 'Samsung SSD 870', 'S5Y1', 500107862016, 512, true],
      ['/dev/sdb', null, null, 1000204886016, 4096, false],
      ['/dev/loop0', null, null, 67108864, 512, false],
    ],
  );
});

test('fuzz: any JSON value gives a list (maybe empty) and never throws', () => {
  let seed = 99;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values: unknown[] = [null, 0, 'x', [], {}, true, { blockdevices: 'no' }, { blockdevices: [null, 1, 'a'] }];
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const randomDevice = (): unknown => ({ path: pick(['/dev/sda', 1, null, '', '/dev/zram1']), size: pick([1, -1, 'x', null, 1e30, '42']), type: pick(['disk', 'loop', 'part', 7]), mountpoints: pick([null, [null], ['/'], 'x', [1]]), model: pick([null, 'm', 5]), children: pick([undefined, [], [{ mountpoints: ['/x'] }], 'z']), 'log-sec': pick([512, 'x', null]) });
  for (let round = 0; round < 3000; round++) {
    const input = round < values.length ? values[round] : { blockdevices: Array.from({ length: Math.floor(rand() * 4) }, randomDevice) };
    let out: ReturnType<typeof disksFromLsblk> = [];
    try {
      out = disksFromLsblk(input);
    } catch (err) {
      assert.fail(`threw on ${JSON.stringify(input)}: ${(err as Error).message}`);
    }
    for (const d of out) assert.ok(typeof d.path === 'string' && d.sizeBytes > 0 && Number.isFinite(d.logicalSectorSize));
  }
});
