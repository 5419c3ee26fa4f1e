// Fuzz of readSchedule, the reader of a stored schedule record (what a hand-edited or
// damaged schedules.db line holds): whatever the document, it reads back as a schedule whose
// destination round-trips through the operator's parser, or it throws a user error, never
// anything else. Seeded (LIFEBOAT_FUZZ_SEED) so a failure can be replayed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { destinationText, parseDestination } from '../api/destination.js';
import { LifeboatError } from '../errors.js';
import { type ScheduleDoc, readSchedule } from './schedules.js';

const SEED = Number(process.env.LIFEBOAT_FUZZ_SEED ?? 20261203);

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const good: ScheduleDoc = { _id: 'a1b2c3d4e5f6', name: 'nightly', target: { machines: ['pc-1'] }, calendar: 'daily', retention: { keepLast: 2 }, enabled: true, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z' };

test(`fuzz: a stored schedule reads back with a valid destination or is refused with a user error (seed ${SEED})`, () => {
  const rnd = random(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const text = () => (rnd() < 0.5 ? pick(['LBUSB', 'nas', '1A2B-3C4D', '0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d', '', '../x', 'a b', 'x'.repeat(70)]) : Array.from({ length: int(24) }, () => String.fromCharCode(int(rnd() < 0.8 ? 0x7f : 0x3000))).join(''));
  const scalar = (): unknown => pick([null, true, 0, -1, 1e308, Number.NaN, [], {}, text(), text()]);
  const destination = (): unknown => {
    if (rnd() < 0.15) return scalar();
    const d: Record<string, unknown> = {};
    if (rnd() < 0.9) d.kind = rnd() < 0.8 ? pick(['client-disk', 'share']) : scalar();
    for (const k of ['label', 'uuid', 'name', 'path', '__proto__', 'constructor']) if (rnd() < 0.3) d[k] = rnd() < 0.7 ? text() : scalar();
    return d;
  };
  const field = (): keyof ScheduleDoc => pick(['name', 'target', 'calendar', 'retention', 'enabled', 'passphraseFile'] as const);
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const doc = { ...good, ...(rnd() < 0.9 ? { destination: destination() } : {}) } as Record<string, unknown>;
    if (rnd() < 0.15) doc[field()] = scalar();
    if (rnd() < 0.05) doc.target = { devices: ['/dev/sdb'] };
    let read;
    try {
      read = readSchedule(doc as unknown as ScheduleDoc);
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'user', `${JSON.stringify(doc)} threw ${String(err)}`);
      continue;
    }
    accepted++;
    if (read.destination) {
      assert.deepEqual(parseDestination(destinationText(read.destination)), read.destination, 'the destination is what the parser makes');
      assert.ok(!('devices' in read.target), 'a docked target never has a destination');
    }
  }
  assert.ok(accepted > 20, `some records are good (${accepted})`);
  assert.deepEqual(readSchedule({ ...good, destination: { kind: 'share', name: 'nas' } }).destination, { kind: 'share', name: 'nas' });
});
