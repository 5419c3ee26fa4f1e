// The boot directory against the real management store (in memory): discovery, job boots
// with their token, stages, ignored machines, UUID lookup.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openManagementStore } from '../db/index.js';
import { AgentTokens } from './agent-tokens.js';
import { BootDirectory, discoveredName } from './boot-directory.js';
import { EventHub } from './event-hub.js';

async function harness(discovery = true) {
  const db = await openManagementStore(null);
  const hub = new EventHub();
  const messages: string[] = [];
  hub.subscribe((e) => {
    if (e.type === 'log') messages.push(e.message);
  });
  const tokens = new AgentTokens();
  const dir = new BootDirectory({
    db,
    hub,
    tokens,
    discovery: () => discovery,
    agent: () => ({ url: 'http://10.0.0.1:8080', fingerprint: null }),
    commandLine: (p) => [`lifeboat.url=${p.url}`, `lifeboat.token=${p.token}`],
    log: () => {},
  });
  return { db, dir, tokens, messages };
}

test('an unknown PXE client is discovered, boots inventory until its inventory arrives, then its disk', async () => {
  const { db, dir, tokens, messages } = await harness();
  const mac = '52:54:00:12:34:56';
  assert.deepEqual(await dir.dhcpClient({ mac, uuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3', address: '10.0.0.50' }), { name: discoveredName(mac), loader: 'auto' });
  const m = await db.machines.getByName('new-525400123456');
  assert.equal(m.status, 'discovered');
  assert.equal(m.systemUuid, '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3');
  assert.equal(m.bootStage?.stage, 'dhcp');
  const plan = await dir.plan({ mac, uuid: null, firmware: 'bios', address: '10.0.0.50' });
  assert.deepEqual(plan.action, { kind: 'boot-os', mode: 'inventory' });
  const token = plan.files.cmdline.find((a) => a.startsWith('lifeboat.token='))?.split('=')[1] as string;
  assert.deepEqual(tokens.verify(token), { kind: 'inventory', machineId: m.id });
  assert.equal((await db.machines.getById(m.id)).bootStage?.stage, 'script');
  await dir.fetched('10.0.0.50', '/lifeboat/vmlinuz');
  assert.equal((await db.machines.getById(m.id)).bootStage?.stage, 'kernel');
  await db.machines.edit(m.name, { inventory: { collectedAt: '2026-12-03T10:00:00Z' } });
  assert.equal((await dir.plan({ mac, uuid: null, firmware: 'bios', address: '10.0.0.50' })).action.kind, 'local-disk');
  assert.ok(messages.some((x) => /discovered a new machine new-525400123456/.test(x)));
  assert.equal((await db.machines.list()).length, 1, 'discovered once');
});

test('a machine with a waiting job boots the boot OS with a token bound to that job, by its MAC only (a claimed UUID gets no job)', async () => {
  const { db, dir, tokens } = await harness(false);
  const m = await db.machines.add({ name: 'kiosk', macs: ['52:54:00:00:00:01'], systemUuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3' });
  const job = await db.jobs.create({ type: 'backup', machineId: m.id, requestedBy: 'root' });
  await db.jobs.transition(job.id, 'wait-for-boot');
  const claimed = await dir.plan({ mac: '52:54:00:00:00:99', uuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3', firmware: 'uefi', address: '10.0.0.52' });
  assert.deepEqual(claimed.action, { kind: 'local-disk', how: 'exit', reason: 'no job is waiting for kiosk' }, 'another MAC claiming the UUID gets no token');
  assert.deepEqual(claimed.files.cmdline, []);
  const plan = await dir.plan({ mac: '52:54:00:00:00:01', uuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3', firmware: 'uefi', address: '10.0.0.51' });
  assert.equal(plan.action.kind, 'boot-os');
  assert.ok(plan.action.kind === 'boot-os' && plan.action.mode === 'job' && plan.action.jobId === job.id);
  const token = plan.files.cmdline.find((a) => a.startsWith('lifeboat.token='))?.split('=')[1] as string;
  assert.deepEqual(tokens.verify(token), { kind: 'job', jobId: job.id, machineId: m.id, jobType: 'backup' });
  assert.deepEqual(plan.files, { kernel: 'lifeboat/vmlinuz', initrd: 'lifeboat/initrd.img', cmdline: ['lifeboat.url=http://10.0.0.1:8080', `lifeboat.token=${token}`] });
  const again = await dir.plan({ mac: '52:54:00:00:00:01', uuid: null, firmware: 'uefi', address: '10.0.0.51' });
  assert.deepEqual(again.files.cmdline, plan.files.cmdline, 'a second boot of the same job: same token');
  await dir.fetched('10.0.0.51', 'lifeboat/initrd.img');
  assert.equal((await db.jobs.get(job.id)).state, 'waiting-for-boot', 'the initrd alone is no boot stage');
  await dir.fetched('10.0.0.51', 'lifeboat/vmlinuz');
  assert.equal((await db.jobs.get(job.id)).state, 'booting', 'fetching the kernel moves the job to booting');
  assert.equal((await db.machines.getById(m.id)).bootStage?.stage, 'kernel');
});

test('discovery off: an unknown client is not recorded and boots its disk; an ignored machine boots its disk', async () => {
  const { db, dir } = await harness(false);
  assert.equal(await dir.dhcpClient({ mac: '52:54:00:00:00:77', uuid: null }), null);
  assert.equal((await dir.plan({ mac: '52:54:00:00:00:77', uuid: null, firmware: 'bios', address: '10.0.0.9' })).action.kind, 'local-disk');
  assert.equal((await db.machines.list()).length, 0);
  const m = await db.machines.add({ name: 'lab', macs: ['52:54:00:00:00:78'], status: 'ignored' });
  const job = await db.jobs.create({ type: 'backup', machineId: m.id, requestedBy: 'root' });
  await db.jobs.transition(job.id, 'wait-for-boot');
  const plan = await dir.plan({ mac: '52:54:00:00:00:78', uuid: null, firmware: 'uefi', address: '10.0.0.10' });
  assert.deepEqual(plan.action, { kind: 'local-disk', how: 'exit', reason: 'lab is ignored by Lifeboat' });
});
