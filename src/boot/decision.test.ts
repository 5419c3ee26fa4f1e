import test from 'node:test';
import assert from 'node:assert/strict';
import { type BootAction, type BootPolicy, type BootRecord, type Firmware, decideBoot } from './decision.js';

const machine = { id: 'm1', name: 'kiosk' };
const job = { id: 'j1', type: 'backup' as const, token: 't0k3n' };
const on: BootPolicy = { discovery: true };
const off: BootPolicy = { discovery: false };

const table: Array<[string, Firmware, BootRecord, BootPolicy, BootAction]> = [
  ['a pending job boots the boot OS for it', 'uefi', { machine, job }, off, { kind: 'boot-os', mode: 'job', machine: 'kiosk', jobId: 'j1', jobType: 'backup', token: 't0k3n' }],
  ['a known machine without a job boots its disk (UEFI: exit)', 'uefi', { machine }, on, { kind: 'local-disk', how: 'exit', reason: 'no job is waiting for kiosk' }],
  ['a known machine without a job boots its disk (BIOS: sanboot)', 'bios', { machine }, on, { kind: 'local-disk', how: 'sanboot', reason: 'no job is waiting for kiosk' }],
  ['a machine set to exit under BIOS exits', 'bios', { machine: { ...machine, localBoot: 'exit' } }, on, { kind: 'local-disk', how: 'exit', reason: 'no job is waiting for kiosk' }],
  ['an unknown machine with discovery on: inventory', 'bios', {}, on, { kind: 'boot-os', mode: 'inventory' }],
  ['an unknown machine with discovery off: its disk', 'uefi', {}, off, { kind: 'local-disk', how: 'exit', reason: 'unknown machine and discovery is off' }],
  ['an ignored machine boots its disk even with a job', 'uefi', { machine: { ...machine, ignored: true }, job }, on, { kind: 'local-disk', how: 'exit', reason: 'kiosk is ignored by Lifeboat' }],
  ['a discovered machine without inventory: inventory again', 'bios', { machine: { ...machine, needsInventory: true } }, on, { kind: 'boot-os', mode: 'inventory' }],
  ['a discovered machine without inventory, discovery now off: its disk', 'bios', { machine: { ...machine, needsInventory: true } }, off, { kind: 'local-disk', how: 'sanboot', reason: 'no job is waiting for kiosk' }],
  ['a job with no machine record cannot boot anything', 'bios', { job }, off, { kind: 'local-disk', how: 'sanboot', reason: 'unknown machine and discovery is off' }],
];

for (const [name, firmware, record, policy, expected] of table) {
  test(`boot decision: ${name}`, () => assert.deepEqual(decideBoot(firmware, record, policy), expected));
}
