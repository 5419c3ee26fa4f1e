import test from 'node:test';
import assert from 'node:assert/strict';
import { directedBroadcast, magicPacket } from './wol.js';

test('magic packet: 6 × FF then the MAC 16 times (102 bytes)', () => {
  const p = magicPacket('52:54:00:AB:cd:01');
  assert.equal(p.length, 102);
  assert.deepEqual(p.subarray(0, 6), Buffer.alloc(6, 0xff));
  for (let i = 0; i < 16; i++) assert.equal(p.subarray(6 + i * 6, 12 + i * 6).toString('hex'), '525400abcd01');
});

test('magic packet: anything but a MAC is refused', () => {
  for (const bad of ['', '52:54:00:ab:cd', '52-54-00-ab-cd-01', 'zz:54:00:ab:cd:01', '52:54:00:ab:cd:01:02']) assert.throws(() => magicPacket(bad), RangeError, bad);
});

test('directed broadcast of an interface address', () => {
  assert.equal(directedBroadcast('10.0.0.1', '255.255.255.0'), '10.0.0.255');
  assert.equal(directedBroadcast('192.168.17.130', '255.255.255.128'), '192.168.17.255');
  assert.equal(directedBroadcast('172.16.5.4', '255.240.0.0'), '172.31.255.255');
  assert.throws(() => directedBroadcast('10.0.0', '255.0.0.0'), RangeError);
});
