import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { periodOf, prune, type PruneCandidate, type PruneResult, type RetentionPolicy } from './retention.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const img = (id: string, completedAt: string): PruneCandidate => ({ id, completedAt });
/** The result in one line per image, kept ones first: "id: reasons", or "id: -" if removed. */
const summary = (r: PruneResult): string[] => [...r.keep.map((k) => `${k.id}: ${k.reasons.join(',')}`), ...r.remove.map((id) => `${id}: -`)];

const TEN_DAYS = Array.from({ length: 10 }, (_, i) => img(`d${i + 1}`, `2026-03-${String(i + 1).padStart(2, '0')}T12:00:00Z`));

const CASES: Array<{ name: string; images: PruneCandidate[]; policy: RetentionPolicy; expect: { keep: string[]; remove: string[] } }> = [
  {
    name: 'an empty policy keeps everything',
    images: [img('a', '2026-03-01T10:00:00Z'), img('b', '2026-03-02T10:00:00Z')],
    policy: {},
    expect: { keep: ['b: no-policy', 'a: no-policy'], remove: [] },
  },
  {
    name: 'every rule 0 is an empty policy too',
    images: [img('a', '2026-03-01T10:00:00Z'), img('b', '2026-03-02T10:00:00Z')],
    policy: { keepLast: 0, daily: 0, weekly: 0, monthly: 0 },
    expect: { keep: ['b: no-policy', 'a: no-policy'], remove: [] },
  },
  { name: 'no images', images: [], policy: { keepLast: 3 }, expect: { keep: [], remove: [] } },
  {
    name: 'keepLast keeps the newest N',
    images: TEN_DAYS.slice(0, 5),
    policy: { keepLast: 3 },
    expect: { keep: ['d5: last', 'd4: last', 'd3: last'], remove: ['d2', 'd1'] },
  },
  {
    name: 'keepLast larger than the history keeps it all',
    images: TEN_DAYS.slice(0, 2),
    policy: { keepLast: 30 },
    expect: { keep: ['d2: last', 'd1: last'], remove: [] },
  },
  {
    name: 'daily: the newest of each day, and days without an image do not count',
    images: [
      img('m1a', '2026-03-01T08:00:00Z'),
      img('m1b', '2026-03-01T20:00:00Z'),
      img('m3', '2026-03-03T12:00:00Z'),
      img('m7a', '2026-03-07T01:00:00Z'),
      img('m7b', '2026-03-07T23:59:59Z'),
      img('m8', '2026-03-08T00:00:00Z'),
    ],
    policy: { daily: 3 },
    expect: { keep: ['m8: daily', 'm7b: daily', 'm3: daily'], remove: ['m7a', 'm1b', 'm1a'] },
  },
  {
    name: 'days are UTC days, whatever offset the time was written with',
    images: [img('x1', '2026-03-01T23:30:00+02:00'), img('x2', '2026-03-02T00:30:00+02:00'), img('x3', '2026-02-28T12:00:00Z')],
    policy: { daily: 2 },
    expect: { keep: ['x2: daily', 'x3: daily'], remove: ['x1'] },
  },
  {
    name: 'weekly: ISO weeks, Monday to Sunday, across the new year',
    images: [
      img('w6', '2024-12-30T10:00:00Z'), // 2025-W01
      img('w5', '2025-12-28T10:00:00Z'), // Sunday, 2025-W52
      img('w1', '2025-12-29T10:00:00Z'), // Monday, 2026-W01
      img('w2', '2026-01-03T10:00:00Z'), // 2026-W01
      img('w3', '2026-01-04T10:00:00Z'), // Sunday, 2026-W01
      img('w4', '2026-01-05T10:00:00Z'), // Monday, 2026-W02
    ],
    policy: { weekly: 3 },
    expect: { keep: ['w4: weekly', 'w3: weekly', 'w5: weekly'], remove: ['w2', 'w1', 'w6'] },
  },
  {
    name: 'monthly: calendar months, a month without an image does not count',
    images: [
      img('jan1', '2026-01-05T00:00:00Z'),
      img('jan2', '2026-01-31T23:59:59Z'),
      img('mar', '2026-03-15T00:00:00Z'),
      img('apr1', '2026-04-01T00:00:00Z'),
      img('apr2', '2026-04-30T12:00:00Z'),
    ],
    policy: { monthly: 3 },
    expect: { keep: ['apr2: monthly', 'mar: monthly', 'jan2: monthly'], remove: ['apr1', 'jan1'] },
  },
  {
    name: 'rules combined: an image kept for several reasons lists them all',
    images: [...TEN_DAYS, img('f15', '2026-02-15T12:00:00Z'), img('j20', '2026-01-20T12:00:00Z')],
    policy: { keepLast: 2, daily: 3, weekly: 2, monthly: 3 },
    expect: {
      keep: ['d10: last,daily,weekly,monthly', 'd9: last,daily', 'd8: daily,weekly', 'f15: monthly', 'j20: monthly'],
      remove: ['d7', 'd6', 'd5', 'd4', 'd3', 'd2', 'd1'],
    },
  },
  {
    name: 'ties: equal times are ordered by id',
    images: [img('b', '2026-03-01T12:00:00Z'), img('a', '2026-03-01T12:00:00Z'), img('c', '2026-03-01T11:00:00Z')],
    policy: { keepLast: 1, daily: 1 },
    expect: { keep: ['a: last,daily'], remove: ['b', 'c'] },
  },
  {
    name: 'times with offsets and fractions are read as the instants they name',
    // a is 00:00:00.5Z on the 2nd, b 00:00:00.25Z, c 22:30Z on the 1st
    images: [img('a', '2026-03-02T01:00:00.5+01:00'), img('b', '2026-03-02T00:00:00.25Z'), img('c', '2026-03-01T17:30:00-05:00')],
    policy: { keepLast: 1, daily: 2 },
    expect: { keep: ['a: last,daily', 'c: daily'], remove: ['b'] },
  },
  {
    name: 'the same record twice counts once',
    images: [img('a', '2026-03-01T12:00:00Z'), img('a', '2026-03-01T12:00:00.000Z'), img('b', '2026-03-02T12:00:00Z')],
    policy: { keepLast: 2 },
    expect: { keep: ['b: last', 'a: last'], remove: [] },
  },
  {
    name: 'images completed after now are kept and count for no rule',
    images: [img('p2', '2026-05-30T00:00:00Z'), img('fut', '2030-01-01T00:00:00Z'), img('p1', '2026-05-31T00:00:00Z')],
    policy: { keepLast: 1 },
    expect: { keep: ['fut: future', 'p1: last'], remove: ['p2'] },
  },
];

test('prune: table', () => {
  for (const c of CASES) {
    const r = prune(c.images, c.policy, NOW);
    assert.deepEqual(summary(r), [...c.expect.keep, ...c.expect.remove.map((id) => `${id}: -`)], c.name);
    assert.deepEqual(r.remove, c.expect.remove, c.name);
  }
});

test('prune: unsorted input gives the same answer as sorted input', () => {
  for (const c of CASES) {
    const expected = prune(c.images, c.policy, NOW);
    for (const order of [[...c.images].reverse(), rotate(c.images, 3), shuffle(c.images, random(7))]) {
      assert.deepEqual(prune(order, c.policy, NOW), expected, c.name);
    }
  }
});

test('prune: ISO weeks match date +%G-W%V', () => {
  const days = ['2027-01-01', '2026-01-01', '2021-01-03', '2024-12-30', '2026-03-09', '2025-12-29', '2026-01-04', '2020-12-31', '2015-12-31', '2016-01-03'];
  const cases: [string, string][] = [
    ['2027-01-01', '2026-W53'],
    ['2026-01-01', '2026-W01'],
    ['2021-01-03', '2020-W53'],
    ['2024-12-30', '2025-W01'],
    ['2026-03-09', '2026-W11'],
    ['2020-12-31', '2020-W53'],
  ];
  for (const [day, week] of cases) assert.equal(periodOf('weekly', Date.parse(`${day}T12:00:00Z`)), week, day);
  // Every day of six years against date(1), where it is there.
  const probe = spawnSync('date', ['-u', '-d', '2026-01-01', '+%G-W%V'], { encoding: 'utf8' });
  if (probe.status !== 0) return;
  const start = Date.parse('2020-01-01T00:00:00Z');
  const all = Array.from({ length: 6 * 366 }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10)).concat(days);
  const r = spawnSync('date', ['-u', '-f', '-', '+%G-W%V'], { input: all.join('\n'), encoding: 'utf8' });
  const weeks = r.stdout.trim().split('\n');
  all.forEach((day, i) => assert.equal(periodOf('weekly', Date.parse(`${day}T00:00:00Z`)), weeks[i], day));
  assert.equal(periodOf('daily', Date.parse('2026-03-09T23:59:59.999Z')), '2026-03-09');
  assert.equal(periodOf('monthly', Date.parse('2026-03-09T23:59:59.999Z')), '2026-03');
});

test('prune: a bad policy is a usage error that names the rule', () => {
  const bad: [unknown, RegExp][] = [
    [{ keepLast: -1 }, /retention keepLast is -1: give a whole number of images, 0 or more/],
    [{ daily: 1.5 }, /retention daily is 1.5/],
    [{ weekly: Number.NaN }, /retention weekly is null|retention weekly is NaN/],
    [{ monthly: '3' }, /retention monthly is "3"/],
    [{ hourly: 24 }, /unknown rule "hourly": use keepLast, daily, weekly, monthly/],
    [{ keeplast: 3 }, /unknown rule "keeplast"/],
  ];
  for (const [policy, message] of bad) {
    assert.throws(
      () => prune([img('a', '2026-03-01T00:00:00Z')], policy as RetentionPolicy, NOW),
      (err: unknown) => err instanceof LifeboatError && err.kind === 'usage' && message.test(err.message),
      JSON.stringify(policy),
    );
  }
});

test('prune: broken image records are a bug, never a guess', () => {
  const bad: [PruneCandidate[], RegExp][] = [
    [[img('a', 'yesterday')], /image a has completedAt "yesterday", not an ISO 8601 time/],
    [[img('a', '')], /image a has completedAt ""/],
    [[img('a', '2026-02-30T00:00:00Z')], /image a has completedAt/],
    [[img('a', '2026-03-01T24:00:00Z')], /image a has completedAt/],
    [[img('a', '2026-03-01T12:00:60+01:00')], /image a has completedAt/],
    [[img('a', '2026-03-01T12:00:00')], /not an ISO 8601 time with a zone/], // local time: ambiguous
    [[img('a', '2026-03-01')], /image a has completedAt/],
    [[{ id: 'a', completedAt: 1_772_323_200_000 } as unknown as PruneCandidate], /image a has completedAt 1772323200000/],
    [[img('', '2026-03-01T00:00:00Z')], /has no id/],
    [[img('a', '2026-03-01T00:00:00Z'), img('a', '2026-03-02T00:00:00Z')], /image a is listed twice, completed at 2026-03-01T00:00:00Z and at 2026-03-02T00:00:00Z/],
  ];
  for (const [images, message] of bad) {
    assert.throws(() => prune(images, { keepLast: 1 }, NOW), (err: unknown) => err instanceof LifeboatError && err.kind === 'bug' && message.test(err.message), message.source);
  }
  assert.throws(() => prune([], { keepLast: 1 }, new Date(Number.NaN)), (err: unknown) => err instanceof LifeboatError && err.kind === 'bug');
});

function random(seed: number): () => number {
  let s = seed >>> 0; // mulberry32
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
function shuffle<T>(list: readonly T[], rnd: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length] as T);

test('prune: invariants over random histories', () => {
  const rnd = random(Number(process.env.LIFEBOAT_FUZZ_SEED ?? 4242));
  const int = (n: number): number => Math.floor(rnd() * n);
  for (let round = 0; round < 500; round++) {
    // Up to 60 images over about three years, some at the very same time.
    const times: number[] = [];
    for (let i = int(60); i > 0; i--) {
      times.push(rnd() < 0.1 && times.length > 0 ? (times[int(times.length)] ?? 0) : Date.parse('2023-06-01T00:00:00Z') + int(3 * 365 * 86_400) * 1000);
    }
    const images = times.map((t, i) => img(`i${String(i).padStart(2, '0')}`, new Date(t).toISOString()));
    const policy: RetentionPolicy = {};
    for (const rule of ['keepLast', 'daily', 'weekly', 'monthly'] as const) if (rnd() < 0.5) policy[rule] = int(8);
    const now = new Date(Date.parse('2026-03-01T00:00:00Z') + (rnd() < 0.2 ? -int(200) * 86_400_000 : 0));
    const r = prune(images, policy, now);
    const what = `round ${round}: ${JSON.stringify(policy)}`;

    // Every image is either kept or removed, once.
    assert.deepEqual([...r.keep.map((k) => k.id), ...r.remove].sort(), images.map((i) => i.id).sort(), what);
    // Nothing is removed without a rule set; with one set, the newest image is kept.
    const anyRule = Object.values(policy).some((n) => n > 0);
    if (!anyRule) assert.deepEqual(r.remove, [], what);
    const newest = [...images].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || (a.id < b.id ? -1 : 1))[0];
    if (newest) assert.equal(r.keep[0]?.id, newest.id, what);
    // Each rule keeps min(N, periods with an image) images, each the newest of its period.
    for (const [rule, reason] of [['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly']] as const) {
      const n = policy[rule] ?? 0;
      const past = images.filter((i) => Date.parse(i.completedAt) <= now.getTime());
      const periods = new Set(past.map((i) => periodOf(rule, Date.parse(i.completedAt))));
      const kept = r.keep.filter((k) => k.reasons.includes(reason));
      assert.equal(kept.length, Math.min(n, periods.size), `${what}: ${rule}`);
      for (const k of kept) {
        const time = Date.parse(images.find((i) => i.id === k.id)?.completedAt ?? '');
        const later = past.filter((i) => periodOf(rule, Date.parse(i.completedAt)) === periodOf(rule, time) && Date.parse(i.completedAt) > time);
        assert.deepEqual(later, [], `${what}: ${k.id} is not the newest of its ${rule} period`);
      }
    }
    // The answer does not depend on the input's order, and pruning again removes nothing more.
    assert.deepEqual(prune(shuffle(images, rnd), policy, now), r, what);
    const again = prune(images.filter((i) => !r.remove.includes(i.id)), policy, now);
    assert.deepEqual(again, { keep: r.keep, remove: [] }, `${what}: not idempotent`);
  }
});
