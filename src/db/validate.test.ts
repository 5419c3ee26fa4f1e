import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { NAME_PATTERN, checkMac, checkName, checkTime, parseMac } from './validate.js';

test('MACs in every common spelling become aa:bb:cc:dd:ee:ff', () => {
  const cases: [string, string | null][] = [
    ['52:54:00:12:34:56', '52:54:00:12:34:56'],
    ['52:54:00:AB:cd:EF', '52:54:00:ab:cd:ef'],
    ['52-54-00-12-34-56', '52:54:00:12:34:56'],
    ['5254.0012.3456', '52:54:00:12:34:56'],
    ['525400123456', '52:54:00:12:34:56'],
    ['  52:54:00:12:34:56 ', '52:54:00:12:34:56'],
    ['52:54:00:12:34', null],
    ['52:54:00:12:34:56:78', null],
    ['52:54:00:12:34:5g', null],
    ['5:54:00:12:34:56', null],
    ['00:00:00:00:00:00', null], // no card has it
    ['ff:ff:ff:ff:ff:ff', null], // broadcast
    ['01:00:5e:00:00:01', null], // multicast
    ['', null],
  ];
  for (const [input, expected] of cases) assert.equal(parseMac(input), expected, input);
});

test('an invalid MAC is a user error that quotes it and shows the form', () => {
  assert.throws(
    () => checkMac('52:54:zz:12:34:56'),
    (e) => e instanceof LifeboatError && e.kind === 'user' && /"52:54:zz:12:34:56" is invalid.*six hex pairs/.test(e.message),
  );
  assert.throws(() => checkMac({ $ne: null }), (e) => e instanceof LifeboatError && /must be a string, not an object/.test(e.message));
});

test('names are host-name labels; a bad name gets a suggestion', () => {
  for (const good of ['a', 'pc-01', 'x'.repeat(63), '0day', 'lab-pc-1']) assert.ok(NAME_PATTERN.test(good), good);
  for (const bad of ['', '-pc', 'pc-', 'PC-01', 'pc_01', 'pc.01', 'x'.repeat(64), 'pc 01', 'ümlaut']) assert.equal(NAME_PATTERN.test(bad), false, bad);
  assert.throws(() => checkName('machine', 'PC 01'), (e) => e instanceof LifeboatError && e.kind === 'user' && /"PC 01" is invalid: .*\(for example "pc-01"\)/.test(e.message));
  assert.throws(() => checkName('machine', 42), /must be a string, not number 42/);
});

test('times are kept in the canonical UTC form', () => {
  assert.equal(checkTime('t', '2026-11-25T19:12:00+01:00'), '2026-11-25T18:12:00.000Z');
  assert.equal(checkTime('t', new Date(0)), '1970-01-01T00:00:00.000Z');
  assert.throws(() => checkTime('t', 'yesterday'), /ISO 8601/);
  assert.throws(() => checkTime('t', 1234), /ISO 8601/);
});
