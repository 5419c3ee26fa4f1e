// The shared test suite every LeaseStore must pass (STYLE 3). Where the harness can
// reopen the store (NeDB on a real file), tests end by reopening it and checking that
// every lease but offers reads back the same: a restart keeps leases (an offer is a
// reservation of a minute, which a store may keep in memory only).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { type LeaseStore, type NewLease, declinedKey } from './lease-store.js';

export interface LeaseHarness {
  store: LeaseStore;
  /** Closes and opens the same store again, or undefined in memory. */
  reopen?: () => Promise<LeaseStore>;
  cleanup: () => Promise<void>;
}

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

const lease = (n: number, address: string, expiresIn: number, over: Partial<NewLease> = {}): NewLease => ({
  clientKey: `mac-52:54:00:00:00:${n.toString(16).padStart(2, '0')}`,
  mac: `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`,
  address,
  expiresAt: iso(expiresIn),
  ...over,
});

const conflict = (e: unknown) => e instanceof LifeboatError && e.kind === 'conflict' && /is leased to/.test(e.message);

export function leaseStoreSuite(name: string, make: () => Promise<LeaseHarness>): void {
  const withLeases = (title: string, fn: (store: LeaseStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const h = await make();
      try {
        await fn(h.store);
        if (h.reopen) {
          const before = h.store.list().filter((l) => l.state !== 'offered');
          const again = await h.reopen();
          assert.deepEqual(
            again.list().filter((l) => l.state !== 'offered'),
            before,
            'the same leases after a reopen',
          );
          for (const l of before) {
            assert.deepEqual(again.byClient(l.clientKey), l);
            assert.deepEqual(again.byAddress(l.address), l);
          }
        }
      } finally {
        await h.cleanup();
      }
    });

  withLeases('allocate reserves an address; renew binds it; both read back by client and address', async (s) => {
    const offered = await s.allocate(lease(1, '10.0.0.10', 60), at(0));
    assert.equal(offered.state, 'offered');
    assert.equal(s.byClient(offered.clientKey)?.address, '10.0.0.10');
    const bound = await s.renew(lease(1, '10.0.0.10', 3600, { hostName: 'pc-1' }), at(1));
    assert.deepEqual(bound, { ...lease(1, '10.0.0.10', 3600), state: 'bound', hostName: 'pc-1' });
    assert.deepEqual(s.byAddress('10.0.0.10'), bound);
    assert.deepEqual(s.list(), [bound]);
  });

  withLeases('a live lease of another client keeps its address; an expired one gives it up', async (s) => {
    await s.renew(lease(1, '10.0.0.10', 60), at(0));
    await assert.rejects(s.allocate(lease(2, '10.0.0.10', 60), at(30)), conflict);
    assert.equal(s.byAddress('10.0.0.10')?.mac, '52:54:00:00:00:01', 'the refused write changed nothing');
    const taken = await s.allocate(lease(2, '10.0.0.10', 120), at(61));
    assert.equal(taken.mac, '52:54:00:00:00:02');
    assert.equal(s.byClient(lease(1, '', 0).clientKey), undefined, 'the stale lease went with its address');
    assert.equal(s.list().length, 1);
  });

  withLeases('a client moving to another address leaves the old one free', async (s) => {
    await s.renew(lease(1, '10.0.0.10', 60), at(0));
    await s.renew(lease(1, '10.0.0.11', 60), at(1));
    assert.equal(s.byAddress('10.0.0.10'), undefined);
    assert.equal(s.byAddress('10.0.0.11')?.mac, '52:54:00:00:00:01');
    await s.allocate(lease(2, '10.0.0.10', 60), at(2));
    assert.deepEqual(
      s.list().map((l) => [l.address, l.mac]),
      [
        ['10.0.0.10', '52:54:00:00:00:02'],
        ['10.0.0.11', '52:54:00:00:00:01'],
      ],
    );
  });

  withLeases('release removes the lease and says what it was; releasing nothing is null', async (s) => {
    const l = await s.renew(lease(3, '10.0.0.12', 600), at(0));
    assert.deepEqual(await s.release(l.clientKey), l);
    assert.equal(s.byAddress('10.0.0.12'), undefined);
    assert.equal(await s.release(l.clientKey), null);
    assert.deepEqual(s.list(), []);
  });

  withLeases('decline takes the address out of use even from its holder, until it expires', async (s) => {
    await s.allocate(lease(4, '10.0.0.13', 60), at(0));
    const d = await s.decline('10.0.0.13', iso(600), at(1));
    assert.deepEqual(d, { clientKey: declinedKey('10.0.0.13'), mac: '', address: '10.0.0.13', state: 'declined', expiresAt: iso(600) });
    assert.equal(s.byClient(lease(4, '', 0).clientKey), undefined);
    await assert.rejects(s.allocate(lease(5, '10.0.0.13', 60), at(2)), conflict);
    await s.allocate(lease(5, '10.0.0.13', 60), at(601));
  });

  withLeases('expire removes exactly the leases past their time', async (s) => {
    await s.renew(lease(1, '10.0.0.10', 10), at(0));
    await s.renew(lease(2, '10.0.0.11', 100), at(0));
    await s.allocate(lease(3, '10.0.0.12', 50), at(0));
    const gone = await s.expire(at(60));
    assert.deepEqual(gone.map((l) => l.address).sort(), ['10.0.0.10', '10.0.0.12']);
    assert.deepEqual(
      s.list().map((l) => l.address),
      ['10.0.0.11'],
    );
    assert.deepEqual(await s.expire(at(60)), []);
  });

  withLeases('records read back are copies: changing one changes nothing stored', async (s) => {
    const l = await s.renew(lease(1, '10.0.0.10', 60), at(0));
    l.address = '10.0.0.99';
    const read = s.byClient(l.clientKey);
    assert.ok(read);
    read.mac = 'changed';
    assert.equal(s.byAddress('10.0.0.10')?.mac, '52:54:00:00:00:01');
    assert.equal(s.byAddress('10.0.0.99'), undefined);
  });

  withLeases('a client identifier key is a client of its own, apart from the same MAC', async (s) => {
    await s.renew(lease(1, '10.0.0.10', 60), at(0));
    await s.renew(lease(1, '10.0.0.11', 60, { clientKey: 'id-01525400000001' }), at(0));
    assert.equal(s.list().length, 2);
    assert.equal(s.byClient('id-01525400000001')?.address, '10.0.0.11');
  });
}
