import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Slot, admit, isProbeFile, negotiate, requestedPath } from './policy.js';

const limits = { maxBlockSize: 1468, maxWindow: 16, defaultTimeoutMs: 2000, maxTimeoutS: 5 };

test('negotiation: in-range options are granted (capped at the limits), others left out of the OACK', () => {
  const all = negotiate(new Map([['blksize', '8192'], ['tsize', '0'], ['timeout', '3'], ['windowsize', '64'], ['multicast', '']]), 4242, limits);
  assert.deepEqual(all, { blockSize: 1468, windowSize: 16, timeoutMs: 3000, accepted: new Map([['blksize', '1468'], ['timeout', '3'], ['tsize', '4242'], ['windowsize', '16']]) });
  const small = negotiate(new Map([['blksize', '512'], ['tsize', '0']]), 0, limits);
  assert.deepEqual(small.accepted, new Map([['blksize', '512']]), 'an empty file: no tsize (curl reads "tsize 0" as an error)');
  const none = negotiate(new Map([['blksize', '7'], ['timeout', '0'], ['tsize', '12'], ['windowsize', 'x'], ['blksize2', '9']]), 1, limits);
  assert.deepEqual(none, { blockSize: 512, windowSize: 1, timeoutMs: 2000, accepted: new Map() });
  assert.equal(negotiate(new Map([['blksize', '99999999999']]), 1, limits).blockSize, 512);
});

test('a timeout option above the cap is refused (RFC 2349 lets the server), not granted or shortened', () => {
  for (const t of ['6', '60', '255']) {
    const d = negotiate(new Map([['timeout', t], ['blksize', '1468']]), 10, limits);
    assert.equal(d.timeoutMs, 2000, t);
    assert.deepEqual(d.accepted, new Map([['blksize', '1468']]), t);
  }
  assert.equal(negotiate(new Map([['timeout', '5']]), 10, limits).timeoutMs, 5000);
  assert.equal(negotiate(new Map([['timeout', '255']]), 10, { ...limits, maxTimeoutS: 999 }).timeoutMs, 255_000, 'never beyond RFC 2349 either way');
  assert.equal(negotiate(new Map([['timeout', '256']]), 10, { ...limits, maxTimeoutS: 999 }).accepted.has('timeout'), false);
});

test('requested paths stay inside the boot root', () => {
  assert.equal(requestedPath('ipxe.efi'), 'ipxe.efi');
  assert.equal(requestedPath('/ipxe.efi'), 'ipxe.efi');
  assert.equal(requestedPath('//boot/./x/y'), 'boot/x/y');
  for (const bad of ['', '/', '.', '..', '../etc/passwd', '/../etc/passwd', 'a/../../b', 'a/..', 'boot\\..\\x', 'a/b/../../..']) assert.equal(requestedPath(bad), null, bad);
});

test('admission: a cap per client address and in all; when full, the oldest unconfirmed transfer gives way', () => {
  const caps = { maxTransfers: 4, maxPerClient: 2 };
  const slot = (address: string, confirmed: boolean, startedMs: number): Slot => ({ address, confirmed, startedMs });
  assert.deepEqual(admit([], '10.0.0.1', caps), { accept: true, evict: null });
  const two = [slot('10.0.0.1', true, 1), slot('10.0.0.1', false, 2)];
  assert.deepEqual(admit(two, '10.0.0.1', caps), { accept: false, reason: 'too many transfers from 10.0.0.1 at once (2)' });
  assert.deepEqual(admit(two, '10.0.0.2', caps), { accept: true, evict: null });
  const full = [slot('a', true, 1), slot('b', false, 5), slot('c', false, 3), slot('d', true, 2)];
  assert.deepEqual(admit(full, 'e', caps), { accept: true, evict: 2 }, 'the oldest unconfirmed, not the oldest');
  const confirmed = full.map((s) => ({ ...s, confirmed: true }));
  assert.deepEqual(admit(confirmed, 'e', caps), { accept: false, reason: 'server busy: 4 transfers at once' });
  assert.deepEqual(admit(full, 'b', { maxTransfers: 4, maxPerClient: 1 }), { accept: false, reason: 'too many transfers from b at once (1)' }, 'the per-client cap first');
});

test('probe files: the names boot loaders try on the chance they exist', () => {
  for (const p of ['grub/x86_64-efi/command.lst', 'revocations_sku.efi', 'EFI/BOOT/revocations.efi', 'grub/grub.cfg-01-52-54-00-12-34-56', 'grub/x86_64-efi/normal.mod', 'pxelinux.cfg/01-52-54-00-12-34-56', 'autoexec.ipxe']) assert.equal(isProbeFile(p), true, p);
  for (const p of ['ipxe.efi', 'shimx64.efi', 'grubx64.efi', 'vmlinuz', 'initrd.img', 'grub/mac/52-54-00-12-34-56.cfg']) assert.equal(isProbeFile(p), false, p);
});
