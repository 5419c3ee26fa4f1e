import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOB_EVENTS, JOB_STATES, type JobEvent, type JobState, isActive, nextState, refusalReason } from './job-state.js';

// Every (state, event) pair, written out by hand: '-' means refused.
const TABLE: Record<JobState, Record<JobEvent, JobState | '-'>> = {
  queued: { 'wait-for-boot': 'waiting-for-boot', boot: '-', start: 'running', succeed: '-', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': '-' },
  'waiting-for-boot': { 'wait-for-boot': '-', boot: 'booting', start: 'running', succeed: '-', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': '-' },
  // The machine fetched the boot OS; its agent has not said hello yet.
  booting: { 'wait-for-boot': '-', boot: '-', start: 'running', succeed: '-', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': '-' },
  running: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: 'done', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': 'cancelling' },
  // Asked to stop: it ends in what really happened, never "cancelled" while the engine still runs.
  cancelling: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: 'done', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': '-' },
  done: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: '-', fail: '-', cancel: '-', interrupt: '-', 'request-cancel': '-' },
  failed: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: '-', fail: '-', cancel: '-', interrupt: '-', 'request-cancel': '-' },
  cancelled: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: '-', fail: '-', cancel: '-', interrupt: '-', 'request-cancel': '-' },
  interrupted: { 'wait-for-boot': '-', boot: '-', start: '-', succeed: '-', fail: '-', cancel: '-', interrupt: '-', 'request-cancel': '-' },
};

test('the table covers every state and event', () => {
  assert.deepEqual(Object.keys(TABLE).sort(), [...JOB_STATES].sort());
  for (const s of JOB_STATES) assert.deepEqual(Object.keys(TABLE[s]).sort(), [...JOB_EVENTS].sort(), s);
});

for (const state of JOB_STATES) {
  for (const event of JOB_EVENTS) {
    const expected = TABLE[state][event];
    test(`${state} + ${event} → ${expected === '-' ? 'refused' : expected}`, () => {
      assert.equal(nextState(state, event), expected === '-' ? null : expected);
      if (expected === '-') assert.ok(refusalReason(state, event).length > 10);
    });
  }
}

test('active states are the ones that can still move; final states cannot', () => {
  for (const s of JOB_STATES) {
    const moves = JOB_EVENTS.some((e) => nextState(s, e) !== null);
    assert.equal(isActive(s), moves, s);
  }
});

test('refusals say why in an operator’s words', () => {
  assert.match(refusalReason('done', 'cancel'), /already ended \(done\): nothing to cancel/);
  assert.match(refusalReason('interrupted', 'start'), /start a new job instead/);
  assert.match(refusalReason('queued', 'succeed'), /queued cannot succeed \(allowed: wait-for-boot, start, fail, cancel, interrupt\)/);
});
