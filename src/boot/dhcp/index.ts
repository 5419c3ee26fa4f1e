// The DHCP server of the boot services, in layers (STYLE 1–3):
//   codec.ts, options.ts   bytes ⇄ messages, typed option readers (pure)
//   boot-file.ts           which file by client architecture and machine loader (pure)
//   decide.ts, reply.ts    request + context record → reply, destination, lease change (pure)
//   lease-store.ts         the LeaseStore interface, in memory (src/db/leases.ts: NeDB)
//   config.ts              settings checked before a socket opens; the interface's address
//   server.ts              startDhcpServer(): two UDP sockets on the boot interface, thin
//
// Invariants:
// - The server hears and answers on the boot interface only (SO_BINDTODEVICE set before
//   bind, src/boot/native); without the addon it does not start.
// - Proxy mode never gives an address and answers PXE clients only; full mode never
//   answers a REQUEST meant for another server, and stays silent about clients it has no
//   record of (RFC 2131 §4.3.2).
// - A machine's fixed address goes to that machine's MACs only (full mode), never to
//   another client, and the machine is NAKed when it asks for any other address.
// - A lease change is recorded before the reply that announces it is sent.
// - No packet, lookup or write failure stops the server: each is an event.
export { type BootFileChoice, type Loader, BOOT_FILES, LOADERS, chooseBootFile, ipxeScriptUrl, isLoader } from './boot-file.js';
export { type DhcpSettings, checkDhcpSettings, fixedAddressProblem, interfaceAddress } from './config.js';
export { type BootMachine, type DhcpContext, type Decision, clientKey, decide } from './decide.js';
export { type Lease, type LeaseState, type LeaseStore, type LeaseView, type NewLease, MemoryLeaseStore } from './lease-store.js';
export { type BootDirectory, type DhcpEvent, type DhcpServer, type DhcpServerOptions, startDhcpServer } from './server.js';
