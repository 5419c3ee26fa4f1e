import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StageClock, formatChunkTimes, formatStages } from './stage-clock.js';

test('each stage lasts until the next begins, the last until the summary; the first says how long the agent had run', () => {
  let t = 12_340;
  const clock = new StageClock(() => t);
  clock.mark('job/start');
  t += 400;
  clock.mark('certify');
  t += 50;
  clock.mark('write');
  t += 7_960;
  assert.equal(clock.summary(), 'agent up 12.3 s at job/start; job/start 0.4 s, certify 0.1 s, write 8.0 s; 8.4 s in all');
});

test('no stage, a clock that went back: said plainly, never a negative time', () => {
  assert.equal(formatStages([], 5), 'no stage was reached');
  assert.equal(formatStages([{ stage: 'a', at: 100 }, { stage: 'b', at: 50 }], 40), 'agent up 0.1 s at a; a 0.0 s, b 0.0 s; 0.0 s in all');
});

test('the worker threads\' time per step', () => {
  assert.equal(formatChunkTimes({ fetch: 12_100, decode: 1_000, hash: 2_049, write: 3_000 }), 'fetch 12.1 s, decode 1.0 s, SHA-256 2.0 s, write 3.0 s');
});
