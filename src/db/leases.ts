// DHCP leases in the management database: the LeaseStore of src/boot/dhcp/lease-store.ts
// on NeDB, so a restart of the daemon keeps every lease. All leases are read into memory
// when the store opens (the DHCP server decides on a synchronous snapshot); each change
// is written to the datafile first and shows in memory only once it is there. Offers are
// the exception: a 60-second reservation is kept in memory only (RFC 2131 asks no more; a
// restart forgets it and the client is NAKed or starts over), which halves the writes of
// a room of machines booting at once.
import { isIPv4 } from 'node:net';
import { integrityError } from '../errors.js';
import { type Lease, LeaseBook, type LeaseStore, type NewLease, declinedKey, leaseOf } from '../boot/dhcp/lease-store.js';
import type { StoreContext } from './context.js';

export type LeaseDoc = Omit<Lease, 'clientKey'> & { _id: string };

const toDoc = ({ clientKey, ...rest }: Lease): LeaseDoc => ({ _id: clientKey, ...rest });

function fromDoc(doc: LeaseDoc, file: string): Lease {
  const { _id, ...rest } = doc as LeaseDoc & Record<string, unknown>;
  const ok =
    typeof _id === 'string' &&
    typeof rest.mac === 'string' &&
    typeof rest.address === 'string' &&
    isIPv4(rest.address) &&
    (rest.state === 'offered' || rest.state === 'bound' || rest.state === 'declined') &&
    typeof rest.expiresAt === 'string' &&
    !Number.isNaN(Date.parse(rest.expiresAt)) &&
    (rest.hostName === undefined || typeof rest.hostName === 'string');
  if (!ok) throw integrityError(`${file}: lease ${JSON.stringify(_id)} is not a lease Lifeboat wrote (edited by hand?): fix or remove that line, then start again`);
  const lease: Lease = { clientKey: _id, mac: rest.mac, address: rest.address, state: rest.state, expiresAt: rest.expiresAt };
  if (rest.hostName !== undefined) lease.hostName = rest.hostName;
  return lease;
}

export async function leasesCollection(ctx: StoreContext): Promise<LeaseStore> {
  const { leases } = ctx.tables;
  const book = new LeaseBook();
  /** Client keys with a document in the datafile (all but offers). */
  const onDisk = new Set<string>();
  for (const doc of await leases.find({})) {
    const lease = fromDoc(doc, leases.file ?? 'the in-memory leases collection');
    book.put(lease);
    onDisk.add(lease.clientKey);
  }

  const write = (lease: Lease, now: Date, force = false) =>
    ctx.lock.run(async () => {
      const replaced = force ? [book.byClient(lease.clientKey), book.byAddress(lease.address)].filter((l): l is Lease => l !== undefined) : book.plan(lease, now).replaced;
      for (const old of replaced) {
        if (!onDisk.has(old.clientKey)) continue;
        // The client's own document stays when it is rewritten below, or when an offer renews its address.
        if (old.clientKey === lease.clientKey && (lease.state !== 'offered' || old.address === lease.address)) continue;
        await leases.remove({ _id: old.clientKey });
        onDisk.delete(old.clientKey);
      }
      if (lease.state !== 'offered') {
        if (onDisk.has(lease.clientKey)) await leases.replace(toDoc(lease));
        else await leases.insert(toDoc(lease));
        onDisk.add(lease.clientKey);
      }
      book.put(lease);
      return { ...lease };
    });

  const forget = async (clientKey: string) => {
    if (onDisk.has(clientKey)) await leases.remove({ _id: clientKey });
    onDisk.delete(clientKey);
    return book.delete(clientKey);
  };

  return {
    byClient: (key) => {
      const l = book.byClient(key);
      return l && { ...l };
    },
    byAddress: (address) => {
      const l = book.byAddress(address);
      return l && { ...l };
    },
    list: () => book.list(),
    allocate: (input: NewLease, now) => write(leaseOf(input, 'offered'), now),
    renew: (input: NewLease, now) => write(leaseOf(input, 'bound'), now),
    decline: (address, until, now) => write({ clientKey: declinedKey(address), mac: '', address, state: 'declined', expiresAt: until }, now, true),
    release: (clientKey) =>
      ctx.lock.run(async () => {
        if (!book.byClient(clientKey)) return null;
        return forget(clientKey);
      }),
    expire: (now) =>
      ctx.lock.run(async () => {
        const gone = book.expired(now);
        for (const l of gone) await forget(l.clientKey);
        return gone.map((l) => ({ ...l }));
      }),
  };
}
