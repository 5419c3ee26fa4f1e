// Records leave the daemon as the wire's types, field by field: what the store adds to a
// record stays inside; what the wire declares arrives unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openManagementStore } from '../db/index.js';
import { jobToWire, machineToWire, scheduleToWire } from './wire-records.js';

test('a machine, a job and a schedule from the real (in-memory) store map onto the wire unchanged', async () => {
  const db = await openManagementStore(null);
  try {
    const m = await db.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'], group: 'office' });
    assert.deepEqual(machineToWire(m), m);
    const job = await db.jobs.create({ type: 'backup', machineId: m.id, requestedBy: 'alice' });
    assert.deepEqual(jobToWire(job), job);
    const s = await db.schedules.add({ name: 'nightly', target: { group: 'office' }, calendar: 'daily', retention: { keepLast: 3 } });
    assert.deepEqual(scheduleToWire(s), s);
  } finally {
    await db.close();
  }
});

test('a field the wire does not declare stays inside the daemon; undefined fields are left out', () => {
  const record = { id: 'a1', name: 'pc-2', macs: ['52:54:00:00:00:02'], createdAt: 'T', updatedAt: 'T', notes: undefined, _id: 'nedb', bootToken: 'secret' };
  const wire = machineToWire(record);
  assert.deepEqual(wire, { id: 'a1', name: 'pc-2', macs: ['52:54:00:00:00:02'], createdAt: 'T', updatedAt: 'T' });
  assert.ok(!('bootToken' in wire) && !('_id' in wire) && !('notes' in wire));
  wire.macs.push('x');
  assert.equal(record.macs.length, 1, 'the wire copy shares no arrays with the record');
});
