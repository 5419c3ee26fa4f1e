import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { devNumOf, parseBackingFile, parseDevNum, parseMountinfo, parseSwaps, parseSysfsNumber, unescapeOctal } from './kernel-view.js';

const MOUNTINFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '45 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '90 27 7:3 / /mnt/with\\040space rw,relatime shared:7 master:2 - ext4 /dev/loop3 rw',
  '91 27 7:4 / /mnt/ro ro,relatime - ext4 /dev/loop4 rw',
  '92 27 7:5 / /mnt/sb-ro rw,relatime - ext4 /dev/loop5 ro',
  '93 27 0:51 / /mnt/btrfs rw,relatime - btrfs /dev/loop6 rw,space_cache=v2',
  'garbage line',
  '94 27 x:y / /bad rw - ext4 /dev/sda rw',
  '',
].join('\n');

test('mountinfo: device numbers, unescaped mount points and sources, read-only from either option list', () => {
  assert.deepEqual(parseMountinfo(MOUNTINFO), [
    { dev: '254:0', mountPoint: '/', source: '/dev/vda', fsType: 'ext4', writable: true },
    { dev: '254:0', mountPoint: '/run/netns', source: '/dev/vda', fsType: 'ext4', writable: true },
    { dev: '7:3', mountPoint: '/mnt/with space', source: '/dev/loop3', fsType: 'ext4', writable: true },
    { dev: '7:4', mountPoint: '/mnt/ro', source: '/dev/loop4', fsType: 'ext4', writable: false },
    { dev: '7:5', mountPoint: '/mnt/sb-ro', source: '/dev/loop5', fsType: 'ext4', writable: false },
    { dev: '0:51', mountPoint: '/mnt/btrfs', source: '/dev/loop6', fsType: 'btrfs', writable: true },
  ]);
});

test('swaps: paths unescaped, a deleted swap file by its name, the header skipped', () => {
  const text = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/loop2                              partition\t16380\t\t0\t\t-2\n/swap\\040file\\040(deleted) file\t1024\t0\t-3\n\n';
  assert.deepEqual(parseSwaps(text), [
    { path: '/dev/loop2', type: 'partition' },
    { path: '/swap file', type: 'file' },
  ]);
});

test('sysfs values: dev, backing_file (deleted), numbers; anything else is not one', () => {
  assert.equal(parseDevNum('8:1\n'), '8:1');
  assert.equal(parseDevNum('259:0'), '259:0');
  assert.equal(parseDevNum('8:1 \n'), null);
  assert.equal(parseDevNum(''), null);
  assert.deepEqual(parseBackingFile('/tmp/a b.img\n'), { path: '/tmp/a b.img', deleted: false });
  assert.deepEqual(parseBackingFile('/tmp/x.img (deleted)\n'), { path: '/tmp/x.img', deleted: true });
  assert.equal(parseBackingFile('relative\n'), null);
  assert.equal(parseSysfsNumber('1048576\n'), 1048576);
  assert.equal(parseSysfsNumber('-1'), 0);
  assert.equal(unescapeOctal('a\\134b\\011c\\012'), 'a\\b\tc\n');
});

test('devNumOf decodes Node\'s st_rdev as the kernel does (major and minor past 8 bits)', () => {
  assert.equal(devNumOf((8 << 8) | 1), '8:1');
  // glibc makedev(259, 300): minor's high bits above bit 19, major's low bits at 8..19.
  const make = (ma: bigint, mi: bigint) => ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
  assert.equal(devNumOf(make(259n, 300n)), '259:300');
  assert.equal(devNumOf(make(4095n, 1048575n)), '4095:1048575');
  assert.equal(devNumOf(statSync('/dev/null').rdev), '1:3');
});

test('fuzz: any text parses to well-formed entries without throwing', () => {
  const pieces = ['27', '1', '254:0', '/', '/mnt', 'rw', 'ro', '-', 'ext4', '/dev/vda', '\\040', '\n', ' ', '\t', 'shared:1', '0:0', '(deleted)'];
  for (let n = 0; n < 3000; n++) {
    const text =
      n % 3 === 0
        ? randomBytes(Math.floor(Math.random() * 200)).toString('latin1')
        : Array.from({ length: Math.floor(Math.random() * 40) }, () => pieces[Math.floor(Math.random() * pieces.length)]).join(n % 2 ? ' ' : '');
    for (const m of parseMountinfo(text)) {
      assert.match(m.dev, /^\d+:\d+$/);
      assert.ok(m.mountPoint.startsWith('/'));
      assert.equal(typeof m.writable, 'boolean');
    }
    for (const s of parseSwaps(text)) assert.ok(s.path.startsWith('/') && typeof s.type === 'string');
    const b = parseBackingFile(text);
    if (b) assert.ok(b.path.startsWith('/') && !b.path.includes('\n'));
    const d = parseDevNum(text);
    if (d) assert.match(d, /^\d+:\d+$/);
    assert.ok(Number.isSafeInteger(parseSysfsNumber(text)));
  }
});
