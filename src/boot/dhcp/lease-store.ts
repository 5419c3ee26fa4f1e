// The DHCP lease table behind one interface (STYLE 3): an in-memory store here for unit
// tests and the NeDB-backed one in src/db/leases.ts, both run against
// lease-store.suite.ts. Reads are synchronous (both keep the table in memory, so the
// server's decision reads a consistent snapshot); writes are async and, in the NeDB
// store, on disk before they are seen.
//
// A client is known by its key: option 61 (client identifier) when it sent one, else its
// hardware address (RFC 2131 §4.2). An address belongs to at most one lease; a lease that
// has expired no longer holds its address (its record is kept until expire() removes it,
// so the same client gets the same address back when nobody took it).
import { conflictError } from '../../errors.js';

export type LeaseState = 'offered' | 'bound' | 'declined';

export interface Lease {
  clientKey: string;
  /** aa:bb:cc:dd:ee:ff, or "" for a declined address. */
  mac: string;
  address: string;
  state: LeaseState;
  /** ISO time. */
  expiresAt: string;
  hostName?: string;
}

export interface LeaseView {
  byClient(clientKey: string): Lease | undefined;
  byAddress(address: string): Lease | undefined;
}

export interface NewLease {
  clientKey: string;
  mac: string;
  address: string;
  expiresAt: string;
  hostName?: string;
}

export interface LeaseStore extends LeaseView {
  /** Every lease, by address order. */
  list(): Lease[];
  /** Reserves `address` for the client (an offer) until expiresAt, replacing what the client had. */
  allocate(lease: NewLease, now: Date): Promise<Lease>;
  /** Binds (or extends) the client's lease on `address` (an ACK). */
  renew(lease: NewLease, now: Date): Promise<Lease>;
  /** Ends the client's lease; the record goes. Returns what was released. */
  release(clientKey: string): Promise<Lease | null>;
  /** Marks an address a client found in use (DHCPDECLINE) as not to be offered until `until`. */
  decline(address: string, until: string, now: Date): Promise<Lease>;
  /** Removes every lease that expired before `now`; returns them. */
  expire(now: Date): Promise<Lease[]>;
}

export const declinedKey = (address: string) => `declined:${address}`;

export const isLive = (lease: Lease | undefined, now: Date): lease is Lease => lease !== undefined && Date.parse(lease.expiresAt) > now.getTime();

const addressNumber = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** The table in memory: maps by client and by address, and the checks every store makes. */
export class LeaseBook implements LeaseView {
  private readonly clients = new Map<string, Lease>();
  private readonly addresses = new Map<string, Lease>();

  byClient(clientKey: string): Lease | undefined {
    return this.clients.get(clientKey);
  }

  byAddress(address: string): Lease | undefined {
    return this.addresses.get(address);
  }

  list(): Lease[] {
    return [...this.clients.values()].sort((a, b) => addressNumber(a.address) - addressNumber(b.address)).map((l) => ({ ...l }));
  }

  /**
   * What a write of `lease` changes: the client's old record and a stale holder of the same
   * address go. Throws conflict when another client's live lease holds the address.
   */
  plan(lease: Lease, now: Date): { replaced: Lease[] } {
    const holder = this.addresses.get(lease.address);
    if (holder && holder.clientKey !== lease.clientKey && isLive(holder, now)) {
      throw conflictError(`address ${lease.address} is leased to ${holder.mac || 'nobody (declined)'} until ${holder.expiresAt}: it cannot go to ${lease.mac || lease.clientKey}`);
    }
    const replaced: Lease[] = [];
    const own = this.clients.get(lease.clientKey);
    if (own) replaced.push(own);
    if (holder && holder.clientKey !== lease.clientKey) replaced.push(holder);
    return { replaced };
  }

  put(lease: Lease): void {
    const own = this.clients.get(lease.clientKey);
    if (own) this.delete(own.clientKey);
    const holder = this.addresses.get(lease.address);
    if (holder) this.delete(holder.clientKey);
    const copy = { ...lease };
    this.clients.set(copy.clientKey, copy);
    this.addresses.set(copy.address, copy);
  }

  delete(clientKey: string): Lease | null {
    const lease = this.clients.get(clientKey);
    if (!lease) return null;
    this.clients.delete(clientKey);
    if (this.addresses.get(lease.address) === lease) this.addresses.delete(lease.address);
    return { ...lease };
  }

  expired(now: Date): Lease[] {
    return [...this.clients.values()].filter((l) => !isLive(l, now));
  }
}

export function leaseOf(input: NewLease, state: LeaseState): Lease {
  const lease: Lease = { clientKey: input.clientKey, mac: input.mac, address: input.address, state, expiresAt: input.expiresAt };
  if (input.hostName !== undefined) lease.hostName = input.hostName;
  return lease;
}

/** Leases in memory only: for unit tests and for a server that need not survive a restart. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly book = new LeaseBook();

  byClient(clientKey: string): Lease | undefined {
    const l = this.book.byClient(clientKey);
    return l && { ...l };
  }

  byAddress(address: string): Lease | undefined {
    const l = this.book.byAddress(address);
    return l && { ...l };
  }

  list(): Lease[] {
    return this.book.list();
  }

  async allocate(input: NewLease, now: Date): Promise<Lease> {
    return this.write(leaseOf(input, 'offered'), now);
  }

  async renew(input: NewLease, now: Date): Promise<Lease> {
    return this.write(leaseOf(input, 'bound'), now);
  }

  async release(clientKey: string): Promise<Lease | null> {
    return this.book.delete(clientKey);
  }

  async decline(address: string, until: string, now: Date): Promise<Lease> {
    return this.write({ clientKey: declinedKey(address), mac: '', address, state: 'declined', expiresAt: until }, now, true);
  }

  async expire(now: Date): Promise<Lease[]> {
    const gone = this.book.expired(now);
    for (const l of gone) this.book.delete(l.clientKey);
    return gone.map((l) => ({ ...l }));
  }

  private write(lease: Lease, now: Date, force = false): Lease {
    if (!force) this.book.plan(lease, now);
    this.book.put(lease);
    return { ...lease };
  }
}
