import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraseFrom, machineFields, machinePatch, newMachineBody, parseMacs, typeInto, withLabel } from './form.js';

test('a new machine: name and at least one MAC, said before anything is sent; optional fields only when given', () => {
  const f = machineFields();
  assert.deepEqual(newMachineBody(f), { problem: 'a machine needs a name: type one in the name field' });
  const named = typeInto(f, 0, 'kiosk-3');
  assert.match((newMachineBody(named) as { problem: string }).problem, /at least one MAC/);
  const full = typeInto(typeInto(named, 1, '52:54:00:00:00:01, 52:54:00:00:00:02'), 3, '  by the window ');
  assert.deepEqual(newMachineBody(full), { name: 'kiosk-3', macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'], notes: 'by the window' });
  assert.deepEqual(parseMacs(' a;b ,c  d '), ['a', 'b', 'c', 'd']);
});

test('an edit sends only what changed; an emptied group is cleared; no change says so', () => {
  const before = { name: 'pc-1', macs: ['52:54:00:00:00:01'], group: 'lab', notes: 'n' };
  const f = machineFields(before);
  assert.deepEqual(machinePatch(before, f), { problem: 'nothing changed: edit a field, or esc to close' });
  assert.deepEqual(machinePatch(before, eraseFrom(f, 2, 3)), { group: '' });
  assert.deepEqual(machinePatch(before, typeInto(eraseFrom(f, 0, 1), 0, '2')), { name: 'pc-2' });
  assert.deepEqual(machinePatch(before, eraseFrom(f, 1, 100)), { problem: 'a machine needs at least one MAC address (e.g. 52:54:00:12:34:56): the boot services know it by its MACs' });
});

test('typing is bounded and erases whole characters; a label goes on backups only', () => {
  const f = machineFields();
  assert.equal(typeInto(f, 3, 'x'.repeat(10_000))[3]?.value.length, 4096);
  assert.equal(eraseFrom(typeInto(f, 0, 'pc-é😀'), 0, 1)[0]?.value, 'pc-é');
  const bodies = withLabel([{ type: 'backup', device: '/srv/d.img' }, { type: 'verify', image: '20261125T180000Z-0000abcd' }], [{ key: 'label', label: 'label', value: ' before upgrade ' }]);
  assert.deepEqual(bodies, [{ type: 'backup', device: '/srv/d.img', label: 'before upgrade' }, { type: 'verify', image: '20261125T180000Z-0000abcd' }]);
  assert.deepEqual(withLabel([{ type: 'backup', device: '/d' }], [{ key: 'label', label: 'label', value: '   ' }]), [{ type: 'backup', device: '/d' }]);
});
