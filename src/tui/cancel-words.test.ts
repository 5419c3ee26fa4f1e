import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancelDialogLines, cancelOutcome } from './cancel-words.js';

test('the cancel dialog says what each job leaves behind: no image, an incomplete disk, an unchecked image, nothing', () => {
  assert.match(cancelDialogLines({ type: 'backup', state: 'running' }).join(' '), /no image is made/);
  const restore = cancelDialogLines({ type: 'restore', state: 'running', devicePath: '/dev/sdb', imageId: 'img-1' }).join(' ');
  assert.match(restore, /\/dev\/sdb is left INCOMPLETE .*do not use it until it is restored again/);
  assert.doesNotMatch(restore, /discarded/, 'a restore does not discard its work: the disk is half-written');
  assert.match(cancelDialogLines({ type: 'verify', state: 'running' }).join(' '), /not fully checked/);
  assert.match(cancelDialogLines({ type: 'restore', state: 'waiting-for-boot' }).join(' '), /nothing has been read or written/);
});

test('after the daemon answered: the real outcome, never "cancelled" for a job that finished', () => {
  assert.deepEqual(cancelOutcome({ id: 'j1', type: 'restore', state: 'cancelled', outcome: 'cancelled: /dev/sdb is incomplete', targetIncomplete: true }), { text: 'job j1 cancelled: /dev/sdb is incomplete', kind: 'error' });
  assert.deepEqual(cancelOutcome({ id: 'j2', type: 'backup', state: 'cancelled', outcome: 'cancelled: no image was made' }), { text: 'job j2 cancelled: no image was made', kind: 'info' });
  assert.deepEqual(cancelOutcome({ id: 'j3', type: 'restore', state: 'done' }), { text: 'job j3 was not cancelled: the restore finished first (done)', kind: 'error' });
  assert.match(cancelOutcome({ id: 'j4', type: 'backup', state: 'failed', outcome: 'failed: no image was made' }).text, /was not cancelled: it ended failed/);
});
