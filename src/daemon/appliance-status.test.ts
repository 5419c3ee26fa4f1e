import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import type { ImageStore } from '../imaging/repo/image-store.js';
import { openManagementStore } from '../db/index.js';
import { ApplianceStatusSource, interfacesOf } from './appliance-status.js';
import type { DaemonConfig } from './config.js';
import type { JobRunner } from './job-runner.js';

test('the chunk walk runs once for many callers, is reused for a minute, and again when an image comes', async () => {
  const db = await openManagementStore(null);
  let walks = 0;
  let release: () => void = () => {};
  const images = {
    root: tmpdir(),
    chunkBytes: async () => {
      walks++;
      await new Promise<void>((r) => (release = r));
      return { chunks: 10, bytes: 1000 };
    },
  } as unknown as ImageStore;
  const config = { dataDir: '/d', socket: '/s', store: tmpdir(), scheduleTimerDir: null, boot: { dhcp: 'off' } } as DaemonConfig;
  const source = new ApplianceStatusSource({ config, version: 't', startedAt: Date.now(), db, images, runner: { active: 0 } as JobRunner });
  const both = Promise.all([source.status(), source.status(), source.status()]);
  await new Promise((r) => setTimeout(r, 20));
  release();
  const [a] = await both;
  assert.equal(walks, 1, 'three callers, one walk');
  assert.equal(a.store.storedBytes, 1000);
  assert.equal(a.store.reduction, 0, 'no images: nothing protected yet');
  const again = source.status();
  await new Promise((r) => setTimeout(r, 20));
  release();
  await again;
  assert.equal(walks, 1, 'cached');
  await db.images.record({ id: '20261125T180000Z-00000001', label: null, host: 'h', createdAt: '2026-11-25T18:00:00.000Z', completedAt: '2026-11-25T18:10:00.000Z', diskSize: 4000, chunkSize: 65536, chunkCount: 1, bytesNew: 1, storedBytesNew: 1, parent: null, sourcePath: '/dev/sda', sourceKind: 'block', hasPassphrase: false });
  const fresh = source.status();
  await new Promise((r) => setTimeout(r, 20));
  release();
  const b = await fresh;
  assert.equal(walks, 2, 'a new image walks again');
  assert.equal(b.store.reduction, 4, '4000 logical bytes over 1000 stored');
  await db.close();
});

test('interfaces: loopback left out, addresses with their prefix, sorted by name', () => {
  const list = interfacesOf({
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth1: [{ address: '10.0.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:00:00:02', internal: false, cidr: '10.0.0.2/24' }],
    eth0: [{ address: 'fd00::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '52:54:00:00:00:01', internal: false, cidr: 'fd00::2/64', scopeid: 0 }],
  });
  assert.deepEqual(list, [
    { name: 'eth0', mac: '52:54:00:00:00:01', addresses: ['fd00::2/64'] },
    { name: 'eth1', mac: '52:54:00:00:00:02', addresses: ['10.0.0.2/24'] },
  ]);
});
