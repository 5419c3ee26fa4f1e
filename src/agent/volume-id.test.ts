import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { VOLUME_HEAD_BYTES, volumeId, volumeMatches } from './volume-id.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-volid-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A filesystem made by the real tool in a file; its head and what blkid says of it. */
function made(name: string, size: number, mkfs: string[]): { head: Buffer; blkid: Record<string, string> } {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  execFileSync(mkfs[0] as string, [...mkfs.slice(1), path], { stdio: 'ignore' });
  const out = execFileSync('blkid', ['-p', '-o', 'export', path], { encoding: 'utf8' });
  const blkid = Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { head: readFileSync(path).subarray(0, VOLUME_HEAD_BYTES), blkid };
}

test('ext2/3/4, FAT12/32 and NTFS made by the real tools: type, label and UUID as blkid says', () => {
  const cases: Array<[string, number, string[], string]> = [
    ['e4', 16 << 20, ['mkfs.ext4', '-q', '-F', '-L', 'LBUSB'], 'ext4'],
    ['e3', 16 << 20, ['mkfs.ext3', '-q', '-F', '-L', 'old-3'], 'ext3'],
    ['e2', 16 << 20, ['mkfs.ext2', '-q', '-F', '-L', 'two'], 'ext2'],
    ['f12', 8 << 20, ['mkfs.vfat', '-n', 'MYFAT'], 'vfat'],
    ['f32', 64 << 20, ['mkfs.vfat', '-F', '32', '-n', 'BIGFAT'], 'vfat'],
    ['ntfs', 16 << 20, ['mkfs.ntfs', '-F', '-f', '-q', '-L', 'win'], 'ntfs'],
  ];
  for (const [name, size, mkfs, type] of cases) {
    const { head, blkid } = made(name, size, mkfs);
    const v = volumeId(head);
    assert.ok(v, name);
    assert.equal(v.type, type, name);
    assert.equal(v.uuid, blkid.UUID, `${name} uuid`);
    if (type !== 'ntfs') assert.equal(v.label, blkid.LABEL, `${name} label`);
    assert.ok(volumeMatches(v, { uuid: (blkid.UUID as string).toLowerCase() }), `${name}: a UUID matches in either case`);
  }
  const unlabelled = volumeId(made('nolabel', 8 << 20, ['mkfs.vfat']).head);
  assert.equal(unlabelled?.label, null, 'NO NAME is no label');
  assert.ok(!volumeMatches(unlabelled!, { label: 'NO NAME' }));
});

test('a label matches exactly (case and all), never by prefix', () => {
  const v = { type: 'ext4' as const, label: 'LBUSB', uuid: null };
  assert.ok(volumeMatches(v, { label: 'LBUSB' }));
  assert.ok(!volumeMatches(v, { label: 'lbusb' }));
  assert.ok(!volumeMatches(v, { label: 'LB' }));
  assert.ok(!volumeMatches(v, { uuid: 'x' }), 'no UUID matches nothing');
});

test('zeros, short buffers and a partition table are no filesystem', () => {
  assert.equal(volumeId(Buffer.alloc(0)), null);
  assert.equal(volumeId(Buffer.alloc(VOLUME_HEAD_BYTES)), null);
  const mbr = Buffer.alloc(4096);
  mbr[0x1fe] = 0x55;
  mbr[0x1ff] = 0xaa;
  assert.equal(volumeId(mbr), null);
});

test('fuzz: random and mutated heads give a value or null, never a throw', () => {
  const seeds = [made('fz4', 16 << 20, ['mkfs.ext4', '-q', '-F', '-L', 'FZ']).head, made('fz32', 64 << 20, ['mkfs.vfat', '-F', '32']).head, made('fzn', 16 << 20, ['mkfs.ntfs', '-F', '-f', '-q']).head];
  for (let i = 0; i < 4000; i++) {
    let b: Buffer;
    if (i % 4 === 0) b = randomBytes(i % 3000);
    else {
      b = Buffer.from(seeds[i % 3] as Buffer);
      for (let k = 0; k < 1 + (i % 16); k++) b[Math.floor(Math.random() * 2200)] = Math.floor(Math.random() * 256);
      if (i % 7 === 0) b = b.subarray(0, Math.floor(Math.random() * 2100));
    }
    const v = volumeId(b);
    if (v) {
      assert.ok(['ext2', 'ext3', 'ext4', 'vfat', 'exfat', 'ntfs'].includes(v.type));
      assert.ok(v.label === null || /^[\x20-\x7e]{1,16}$/.test(v.label));
    }
  }
});
