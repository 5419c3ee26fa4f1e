import test from 'node:test';
import assert from 'node:assert/strict';
import { AgentTokens } from './agent-tokens.js';

test('a token is bound to its scope, reissued while valid, refused once expired or revoked', () => {
  let now = 1_000_000;
  const tokens = new AgentTokens(60_000, () => now);
  const job = { kind: 'job' as const, jobId: 'j1', machineId: 'm1', jobType: 'backup' as const };
  const t1 = tokens.issue(job);
  assert.match(t1, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(tokens.issue(job), t1, 'a second boot of the same job gets the same token');
  const inv = tokens.issue({ kind: 'inventory', machineId: 'm2' });
  assert.notEqual(inv, t1);
  assert.deepEqual(tokens.verify(t1), job);
  assert.deepEqual(tokens.verify(inv), { kind: 'inventory', machineId: 'm2' });
  assert.equal(tokens.verify(`${t1}x`), null);
  assert.equal(tokens.verify(''), null);
  tokens.revokeJob('j1');
  assert.equal(tokens.verify(t1), null, 'revoked when the job ends');
  const t2 = tokens.issue(job);
  assert.notEqual(t2, t1, 'a new token after revocation');
  now += 60_001;
  assert.equal(tokens.verify(t2), null, 'expired');
  assert.notEqual(tokens.issue(job), t2, 'expired tokens are replaced');
});

test('a running job\'s token lives as long as its agent keeps asking; an expired one is not revived', () => {
  let now = 0;
  const tokens = new AgentTokens(60_000, () => now);
  const t = tokens.issue({ kind: 'job', jobId: 'j1', machineId: 'm1', jobType: 'backup' });
  for (let i = 0; i < 10; i++) {
    now += 50_000;
    tokens.renewJob('j1');
  }
  assert.equal(tokens.verify(t)?.kind, 'job', 'alive after 500 s with a 60 s ttl');
  now += 60_001;
  tokens.renewJob('j1');
  assert.equal(tokens.verify(t), null);
});
