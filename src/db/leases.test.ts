// The shared LeaseStore suite against the NeDB store on a real file, reopened after every
// test (a restart keeps leases), and in NeDB's memory mode.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { leaseStoreSuite } from '../boot/dhcp/lease-store.suite.js';
import { LifeboatError } from '../errors.js';
import { openManagementStore } from './index.js';

leaseStoreSuite('nedb memory', async () => {
  const store = await openManagementStore(null);
  return { store: store.leases, cleanup: () => store.close() };
});

leaseStoreSuite('nedb file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-leases-'));
  let current = await openManagementStore(dir);
  return {
    store: current.leases,
    reopen: async () => {
      await current.close();
      current = await openManagementStore(dir);
      return current.leases;
    },
    cleanup: async () => {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('nedb file: a lease line that is not a lease refuses the open, naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-leases-'));
  try {
    const store = await openManagementStore(dir);
    await store.close();
    appendFileSync(join(dir, 'leases.db'), `${JSON.stringify({ _id: 'mac-x', mac: 'x', address: 'not-an-ip', state: 'bound', expiresAt: '2026-01-01T00:00:00Z' })}\n`);
    await assert.rejects(openManagementStore(dir), (e) => e instanceof LifeboatError && e.kind === 'integrity' && /lease "mac-x" is not a lease/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nedb file: offers stay in memory, bound leases reach the file; a client moving on leaves no stale line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-leases-'));
  const now = new Date('2026-12-03T10:00:00.000Z');
  const l = (mac: string, address: string) => ({ clientKey: `mac-${mac}`, mac, address, expiresAt: '2026-12-03T11:00:00.000Z' });
  try {
    let store = await openManagementStore(dir);
    await store.leases.allocate(l('52:54:00:00:00:01', '10.0.0.10'), now);
    await store.leases.renew(l('52:54:00:00:00:02', '10.0.0.11'), now);
    await store.leases.allocate(l('52:54:00:00:00:02', '10.0.0.12'), now);
    await store.leases.renew(l('52:54:00:00:00:02', '10.0.0.12'), now);
    await store.close();
    store = await openManagementStore(dir);
    assert.deepEqual(
      store.leases.list().map((x) => `${x.mac} ${x.address} ${x.state}`),
      ['52:54:00:00:00:02 10.0.0.12 bound'],
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
