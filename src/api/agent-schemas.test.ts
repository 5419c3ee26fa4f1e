import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { AGENT_BODY_SCHEMAS, EndBody, FinishBody, HasBody, RawSize, StartBody, StoredBody } from './agent-schemas.js';

const disk = { name: 'nvme0n1', sizeBytes: 1 << 30, logicalSectorSize: 512, physicalSectorSize: 4096, model: 'M', serial: null };
const finish = {
  source: { kind: 'block', size: 1 << 30, logicalSectorSize: 512, physicalSectorSize: 4096, model: null, serial: 'S', name: 'sda' },
  imageBytes: 1 << 30,
  contentSha256: 'a'.repeat(64),
  stats: { bytesRead: 5 },
  layout: { diskSize: 1 << 30, table: 'gpt', sectorSize: 512, partitions: [{ number: 1, start: 1 << 20, size: 1 << 29, type: 'X', typeName: 'linux', filesystem: 'ext4', method: 'used-blocks', usedBytes: 100 }], reserved: [{ start: 0, length: 512 }], usedBytes: 100, warnings: [] },
  startedAt: '2026-12-03T10:00:00.000Z',
};

test('agent bodies: good ones pass; unknown fields, bad text, out-of-range numbers are refused', () => {
  assert.ok(StartBody.safeParse({ disk }).success);
  assert.ok(!StartBody.safeParse({ disk, extra: 1 }).success, 'strict');
  assert.ok(!StartBody.safeParse({ disk: { ...disk, name: '../sda' } }).success);
  assert.ok(!StartBody.safeParse({ disk: { ...disk, model: 'a\u202eb' } }).success, 'bidi overrides are not text');
  assert.ok(!StartBody.safeParse({ disk: { ...disk, logicalSectorSize: 100 } }).success);
  assert.ok(FinishBody.safeParse(finish).success, JSON.stringify(FinishBody.safeParse(finish).error?.issues));
  assert.ok(!FinishBody.safeParse({ ...finish, layout: { ...finish.layout, table: 'zfs' } }).success);
  assert.ok(!FinishBody.safeParse({ ...finish, stats: { 'bad key': 1 } }).success);
  assert.ok(!FinishBody.safeParse({ ...finish, startedAt: 'yesterday' }).success);
  assert.ok(!HasBody.safeParse({ digests: [] }).success);
  assert.ok(!HasBody.safeParse({ digests: Array.from({ length: 4097 }, () => 'a'.repeat(64)) }).success);
  assert.ok(!HasBody.safeParse({ digests: ['A'.repeat(64)] }).success, 'lowercase hex only');
  assert.ok(EndBody.safeParse({ ok: false, stage: 'read', error: 'EIO\nat sector 9', advice: null, report: null, wrote: false }).success, 'an error may span lines');
  assert.ok(!EndBody.safeParse({ ok: false, stage: 'read\nx', error: null, advice: null, report: null, wrote: false }).success);
  assert.equal(RawSize.parse('65536'), 65536);
  for (const bad of ['0', '-1', '1e5', '01', '99999999999', '']) assert.ok(!RawSize.safeParse(bad).success, bad);
});

const stored = {
  imageId: '20261203T100000Z-0a1b2c3d',
  parentId: null,
  createdAt: '2026-12-03T10:00:00.000Z',
  completedAt: '2026-12-03T10:01:00.000Z',
  source: finish.source,
  imageBytes: 1 << 30,
  chunkSize: 1 << 20,
  chunkCount: 1024,
  contentSha256: 'b'.repeat(64),
  manifestSha256: 'c'.repeat(64),
  stats: { bytesNew: 5, storedBytesNew: 3 },
  layout: finish.layout,
};

test('job/stored: a good report passes; inconsistent or hostile ones are refused with what is wrong', () => {
  assert.ok(StoredBody.safeParse(stored).success, JSON.stringify(StoredBody.safeParse(stored).error?.issues));
  const refused = (body: unknown, why: RegExp) => {
    const r = StoredBody.safeParse(body);
    assert.ok(!r.success, JSON.stringify(body).slice(0, 200));
    assert.match(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), why);
  };
  refused({ ...stored, extra: 1 }, /unrecognized/i);
  refused({ ...stored, imageId: '../../etc' }, /imageId: is not an image id/);
  refused({ ...stored, parentId: stored.imageId }, /its own parent/);
  refused({ ...stored, imageBytes: 1 << 29 }, /differs from the source disk/);
  refused({ ...stored, chunkCount: 7 }, /chunkCount does not match/);
  refused({ ...stored, completedAt: '2026-12-02T10:00:00.000Z' }, /before createdAt/);
  refused({ ...stored, chunkSize: 100 }, /chunkSize/);
  refused({ ...stored, manifestSha256: 'C'.repeat(64) }, /manifestSha256/);
  refused({ ...stored, source: { ...stored.source, name: 'sda/../x' } }, /source.name/);
  refused({ ...stored, stats: { 'a b': 1 } }, /stats/);
  refused({ ...stored, layout: { ...finish.layout, table: 'zfs' } }, /layout/);
});

test('fuzz: random and mutated bodies never throw out of a schema', () => {
  const seeds: unknown[] = [{ disk }, finish, stored, { digests: ['a'.repeat(64)] }, { ok: true, stage: null, error: null, advice: null, report: { a: 1 }, wrote: true }];
  const mutate = (v: unknown, depth: number): unknown => {
    if (depth > 4 || Math.random() < 0.1) return [null, -1, 0.5, 1e308, NaN, 'x'.repeat(3000), '\u0000', {}, [], true, 2 ** 64, { __proto__: { polluted: 1 } }][Math.floor(Math.random() * 12)];
    if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [Math.random() < 0.05 ? `${k}x` : k, Math.random() < 0.4 ? mutate(x, depth + 1) : x]));
    return v;
  };
  for (let i = 0; i < 3000; i++) {
    const input = i % 5 === 0 ? (() => { try { return JSON.parse(randomBytes(40).toString('latin1')); } catch { return randomBytes(8).toString('hex'); } })() : mutate(seeds[i % seeds.length], 0);
    for (const schema of Object.values(AGENT_BODY_SCHEMAS)) schema.safeParse(input);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
