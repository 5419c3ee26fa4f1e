import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from '../db/index.js';
import { bootDeadlineAdvice, endingOf } from './job-runner.js';

const job = (type: Job['type']): Job => ({ id: 'j', type, state: 'running', createdAt: '', updatedAt: '', requestedBy: 'op' });
const req = (type: 'backup' | 'restore' | 'verify') => ({ type, devicePath: '/dev/sdb', imageId: 'img-1', requestedBy: 'op' });

test('what a stopped job leaves behind: no image, an incomplete disk only once writing began, a removed new file, an unchecked image', () => {
  assert.deepEqual(endingOf(job('backup'), req('backup'), 'cancel', { targetExisted: true, writing: false }), { outcome: 'cancelled: no image was made (nothing was committed to the store)' });
  assert.deepEqual(endingOf(job('restore'), req('restore'), 'cancel', { targetExisted: true, writing: false }), { outcome: 'cancelled before anything was written to /dev/sdb: it is unchanged', targetIncomplete: false });
  const half = endingOf(job('restore'), req('restore'), 'cancel', { targetExisted: true, writing: true });
  assert.equal(half.targetIncomplete, true);
  assert.match(half.outcome, /^cancelled: \/dev\/sdb is incomplete .*image img-1.*restore it again$/);
  assert.equal(endingOf(job('restore'), req('restore'), 'fail', { targetExisted: true, writing: true }).targetIncomplete, true, 'a failure mid-write too');
  assert.deepEqual(endingOf(job('restore'), req('restore'), 'interrupt', { targetExisted: false, writing: true }), { outcome: 'interrupted: the new file /dev/sdb was removed', targetIncomplete: false });
  assert.match(endingOf(job('verify'), req('verify'), 'cancel', { targetExisted: false, writing: false }).outcome, /img-1 was not fully checked/);
});

test('the boot deadline advice names the stage the machine reached', () => {
  assert.match(bootDeadlineAdvice('desk', '30 min', null), /^desk did not boot into Lifeboat within 30 min, and it did not ask for a network boot: check that it is powered, that Wake-on-LAN/);
  assert.match(bootDeadlineAdvice('desk', '30 min', { stage: 'dhcp', at: 'T' }), /asked DHCP \(T\) but never fetched its loader/);
  assert.match(bootDeadlineAdvice('desk', '30 min', { stage: 'loader', at: 'T', detail: 'shimx64.efi' }), /fetched its loader \(shimx64.efi, T\)/);
  assert.match(bootDeadlineAdvice('desk', '30 min', { stage: 'script', at: 'T' }), /lifeboat bootos build/);
  assert.match(bootDeadlineAdvice('desk', '30 min', { stage: 'kernel', at: 'T' }), /agent never said hello: watch its console/);
});
