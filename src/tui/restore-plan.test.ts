import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { device, image, machine } from '../../test/helpers/tui-twin.js';
import { neededBytes, planRestore } from './restore-plan.js';

const pc1 = machine('pc-01', 'm1', [{ path: '/dev/sda', serial: 'S1', size: 500e9 }, { path: '/dev/sdb', serial: 'S2', size: 100e9 }]);
const pc2 = machine('pc-02', 'm2', [{ path: '/dev/nvme0n1', serial: 'N1', size: 1e12 }]);
const machines = [pc1, pc2];
const img = image('20261125T100000Z-aaaaaaaa', { machineId: 'm1', diskSerial: 'S1', sourcePath: '/dev/sda', diskSize: 500e9, minTargetBytes: 200e9 });
const onDisk = (m: typeof pc1, i: number) => ({ kind: 'machine' as const, machine: m, disk: m.disks[i] as (typeof pc1)['disks'][number] });

describe('planRestore', () => {
  it('restoring onto the image source itself asks y/n only', () => {
    const plan = planRestore(img, onDisk(pc1, 0), machines);
    assert.equal(plan.verdict, 'same');
    assert.deepEqual(plan.body, { type: 'restore', image: img.id, machine: 'pc-01', disk: 'S1', confirm: true });
  });

  it('another machine needs its name typed, and shows both identities', () => {
    const plan = planRestore(img, onDisk(pc2, 0), machines);
    assert.equal(plan.verdict, 'other');
    assert.equal(plan.mustType, 'pc-02');
    assert.deepEqual(plan.source.rows.find(([k]) => k === 'machine'), ['machine', 'pc-01']);
    assert.deepEqual(plan.target.rows.find(([k]) => k === 'serial'), ['serial', 'N1']);
  });

  it('another disk of the same machine is "other" too', () => {
    const big = machine('pc-01', 'm1', [{ path: '/dev/sda', serial: 'S1', size: 500e9 }, { path: '/dev/sdc', serial: 'S3', size: 600e9 }]);
    assert.equal(planRestore(img, onDisk(big, 1), machines).verdict, 'other');
  });

  it('refuses a target smaller than minTargetBytes, naming the size needed', () => {
    const plan = planRestore(img, onDisk(pc1, 1), machines);
    assert.equal(plan.verdict, 'refused');
    assert.match(plan.verdict === 'refused' ? plan.reason : '', /is 100 GB; image .* needs 200 GB \(200000000000 bytes\): choose a larger disk/);
  });

  it('falls back to the source disk size without minTargetBytes', () => {
    const noMin = image('20261125T100000Z-bbbbbbbb', { diskSize: 300e9 });
    assert.equal(neededBytes(noMin), 300e9);
    assert.equal(planRestore(noMin, onDisk(pc1, 0), machines).verdict, 'other');
    assert.equal(planRestore(noMin, onDisk(pc1, 1), machines).verdict, 'refused');
  });

  it('docked devices: the same path is the source, another path must be typed, in use is refused', () => {
    const docked = image('20261125T100000Z-cccccccc', { sourcePath: '/dev/sdb', diskSerial: 'SER-sdb', diskSize: 1e9 });
    assert.equal(planRestore(docked, { kind: 'device', device: device('/dev/sdb', 2e9) }, machines).verdict, 'same');
    const other = planRestore(docked, { kind: 'device', device: device('/dev/sdc', 2e9) }, machines);
    assert.equal(other.verdict, 'other');
    assert.equal('mustType' in other && other.mustType, '/dev/sdc');
    // Same path, another disk (serial differs): not the source.
    assert.equal(planRestore(docked, { kind: 'device', device: device('/dev/sdb', 2e9, { serial: 'X' }) }, machines).verdict, 'other');
    assert.equal(planRestore(docked, { kind: 'device', device: device('/dev/sdc', 2e9, { inUse: true }) }, machines).verdict, 'refused');
    assert.equal(planRestore(docked, { kind: 'device', device: device('/dev/sdc', 5e8) }, machines).verdict, 'refused');
    const system = planRestore(docked, { kind: 'device', device: device('/dev/vda', 2e9, { system: '/ (the root filesystem)' }) }, machines);
    assert.deepEqual(system, { verdict: 'refused', reason: "/dev/vda is the appliance's own system disk (it holds / (the root filesystem)): it is never a restore target" });
  });
});
