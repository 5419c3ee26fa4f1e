import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type RangeDecision, parseRange } from './range.js';

const cases: Array<[string | undefined, number, RangeDecision]> = [
  [undefined, 100, { kind: 'whole' }],
  ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
  ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=-1000', 100, { kind: 'partial', start: 0, end: 99 }],
  ['bytes=50-1000', 100, { kind: 'partial', start: 50, end: 99 }],
  ['BYTES = 5-5', 100, { kind: 'partial', start: 5, end: 5 }],
  ['bytes=100-', 100, { kind: 'unsatisfiable' }],
  ['bytes=-0', 100, { kind: 'unsatisfiable' }],
  ['bytes=0-', 0, { kind: 'unsatisfiable' }],
  ['bytes=9-0', 100, { kind: 'whole' }], // invalid spec: ignored
  ['bytes=0-1,5-6', 100, { kind: 'whole' }], // several ranges: the whole file
  ['bytes=a-b', 100, { kind: 'whole' }],
  ['items=0-1', 100, { kind: 'whole' }],
  ['bytes=-', 100, { kind: 'whole' }],
  ['bytes=99999999999999999999-', 100, { kind: 'whole' }], // more digits than any file: ignored
];

test('Range header decisions (RFC 9110 §14)', () => {
  for (const [header, size, expected] of cases) assert.deepEqual(parseRange(header, size), expected, `${header} of ${size}`);
});

test('fuzz: any header gives a decision inside the file', () => {
  const alphabet = 'bytes=-,0123456789 aX';
  for (let i = 0; i < 20_000; i++) {
    const r = randomBytes(24);
    const header = i % 2 ? r.toString('latin1') : Array.from(r, (b) => alphabet[b % alphabet.length]).join('');
    const size = r.readUInt16LE(0) % 5000;
    const d = parseRange(header, size);
    if (d.kind === 'partial') assert.ok(d.start >= 0 && d.start <= d.end && d.end < size, `${JSON.stringify(header)} of ${size}: ${JSON.stringify(d)}`);
  }
});
