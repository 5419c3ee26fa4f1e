import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DigestSet } from './digest-set.js';

const d = (s: string) => createHash('sha256').update(s).digest();

test('DigestSet finds exactly the digests it was given, duplicates collapsed', () => {
  const members = Array.from({ length: 1000 }, (_, i) => d(`in ${i}`));
  const set = new DigestSet(Buffer.concat([...members, ...members.slice(0, 10)]));
  assert.equal(set.size, 1000);
  for (const m of members) assert.ok(set.has(m));
  for (let i = 0; i < 1000; i++) assert.ok(!set.has(d(`out ${i}`)));
  assert.ok(!new DigestSet(new Uint8Array(0)).has(members[0] as Buffer));
});
