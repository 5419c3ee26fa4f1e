// Boot media tokens against the real management store (in memory, and on disk across a
// reopen): a machine's medium gets its waiting job through a fresh one-job token, only on
// that machine; a registration medium creates the computer once; revoked tokens are refused.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openManagementStore } from '../db/index.js';
import { AgentTokens } from './agent-tokens.js';
import { EventHub } from './event-hub.js';
import { type HelloIdentity, MediumTokens, isThisMachine, registrationName } from './medium-tokens.js';

const who = (macs: string[], extra: Partial<HelloIdentity> = {}): HelloIdentity => ({ uuid: null, manufacturer: null, product: null, macs, ...extra });

test('registration names: SMBIOS product and the end of the MAC, fillers ignored, unique, always a valid name', () => {
  const none = () => false;
  assert.equal(registrationName(who(['52:54:00:12:34:56'], { product: 'Standard PC (Q35 + ICH9, 2009)' }), none), 'standard-pc-q35-ich9-2009-123456');
  assert.equal(registrationName(who(['52:54:00:12:34:56'], { product: 'To Be Filled By O.E.M.' }), none), 'pc-525400123456');
  assert.equal(registrationName(who(['52:54:00:12:34:56'], { product: '  ' }), none), 'pc-525400123456');
  const taken = new Set(['pc-525400123456', 'pc-525400123456-2']);
  assert.equal(registrationName(who(['52:54:00:12:34:56']), (n) => taken.has(n)), 'pc-525400123456-3');
  const long = registrationName(who(['52:54:00:12:34:56'], { product: `${'x'.repeat(30)}-\u202e-${'é'.repeat(80)}` }), none);
  assert.match(long, /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
});

test('fuzz: any SMBIOS product and MAC give a valid, unused machine name', () => {
  const pick = (n: number) => Math.floor(Math.random() * n);
  const alphabet = ['a', 'Z', '9', '-', ' ', '.', '(', '\u0000', '\u202e', 'é', '\n', '_', '/', '\u{1F600}'];
  for (let i = 0; i < 2000; i++) {
    const product = pick(8) === 0 ? null : Array.from({ length: pick(120) }, () => alphabet[pick(alphabet.length)]).join('');
    const mac = Array.from({ length: 6 }, () => pick(256).toString(16).padStart(2, '0')).join(':');
    const taken = new Set<string>();
    for (let k = 0; k < 3; k++) {
      const name = registrationName(who([mac], { product }), (n) => taken.has(n));
      assert.match(name, /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, JSON.stringify(product));
      assert.ok(!taken.has(name));
      taken.add(name);
    }
  }
});

test('the computer is the machine by one of its MACs or its SMBIOS UUID', () => {
  const m = { macs: ['52:54:00:00:00:01'], systemUuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3' };
  assert.equal(isThisMachine(m, who(['52:54:00:00:00:09', '52:54:00:00:00:01'])), true);
  assert.equal(isThisMachine(m, who(['52:54:00:00:00:09'], { uuid: '6A0E1C2B-3D4F-4A5B-8C6D-7E8F90A1B2C3' })), true);
  assert.equal(isThisMachine(m, who(['52:54:00:00:00:09'])), false);
  assert.equal(isThisMachine({ macs: m.macs }, who(['52:54:00:00:00:09'], { uuid: m.systemUuid })), false, 'no recorded UUID: only a MAC counts');
});

test('a machine medium: none without a job, its job with a one-job token, never on another computer; revoked is refused', async () => {
  const db = await openManagementStore(null);
  const jobTokens = new AgentTokens();
  const media = new MediumTokens(db, jobTokens, new EventHub());
  const pc = await db.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'] });
  const { medium, token } = await media.issue({ machine: 'pc-1', server: 'http://10.0.0.1:8080', actor: 'alice' });
  assert.equal(medium.scope, 'machine');
  assert.equal(medium.machineId, pc.id);
  assert.notEqual(medium.tokenDigest, token);
  assert.equal(jobTokens.verify(token), null, 'a medium token is no one-job token: job routes never accept it');
  const scope = await media.verify(token);
  assert.deepEqual(scope, { kind: 'medium', mediumId: medium.id, machineId: pc.id });
  if (!scope) return;

  assert.deepEqual(await media.forHello(scope, who(['52:54:00:00:00:01'])), { scope: { kind: 'inventory', machineId: pc.id } });
  const job = await db.jobs.create({ type: 'backup', machineId: pc.id, requestedBy: 'alice' });
  await db.jobs.transition(job.id, 'wait-for-boot');
  const granted = await media.forHello(scope, who(['52:54:00:00:00:01']));
  assert.deepEqual(granted.scope, { kind: 'job', jobId: job.id, machineId: pc.id, jobType: 'backup' });
  assert.ok(granted.jobToken && granted.jobToken !== token);
  assert.deepEqual(jobTokens.verify(granted.jobToken as string), granted.scope, 'the job routes take the one-job token');
  assert.equal((await db.jobs.get(job.id)).state, 'booting');
  assert.equal((await media.forHello(scope, who(['52:54:00:00:00:01']))).jobToken, granted.jobToken, 'a second boot of the medium gets the same job token');
  await assert.rejects(media.forHello(scope, who(['52:54:00:00:00:77'])), /was made for machine pc-1 .* but it booted a computer with MAC 52:54:00:00:00:77/);
  assert.ok((await db.media.get(medium.id)).lastUsedAt);

  await media.revoke(medium.id, 'alice');
  assert.equal(await media.verify(token), null);
  await assert.rejects(media.revoke(medium.id, 'alice'), /already revoked/);
  await assert.rejects(media.issue({ machine: 'nope', server: 'http://x', actor: 'alice' }), /no machine named "nope"/);
  assert.equal(await media.verify('x'.repeat(300)), null);
});

test('a registration medium creates the computer once, finds a known one, refuses one without a NIC; media survive a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-media-${process.pid}-`));
  try {
    let db = await openManagementStore(dir);
    let media = new MediumTokens(db, new AgentTokens(), new EventHub());
    const { token } = await media.issue({ server: 'http://10.0.0.1:8080', actor: 'alice' });
    const scope = await media.verify(token);
    assert.equal(scope?.kind, 'registration');
    if (!scope) return;
    const id = who(['52:54:00:ab:cd:ef'], { product: 'Standard PC (Q35 + ICH9, 2009)', uuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3' });
    const first = await media.forHello(scope, id);
    const m = await db.machines.getById((first.scope as { machineId: string }).machineId);
    assert.equal(m.name, 'standard-pc-q35-ich9-2009-abcdef');
    assert.deepEqual(m.macs, ['52:54:00:ab:cd:ef']);
    assert.equal(m.systemUuid, '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3');
    assert.equal(first.jobToken, undefined, 'registration answers no job');
    assert.deepEqual((await media.forHello(scope, id)).scope, first.scope, 'the same computer again: no second machine');
    assert.equal((await db.machines.list()).length, 1);
    await assert.rejects(media.forHello(scope, who([])), /no network card/);
    await db.close();
    assert.ok(!readdirSync(dir).some((f) => readFileSync(join(dir, f), 'utf8').includes(token)), 'only the digest is on disk');

    db = await openManagementStore(dir);
    media = new MediumTokens(db, new AgentTokens(), new EventHub());
    assert.deepEqual(await media.verify(token), scope, 'the medium survives a reopen (a daemon restart)');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
