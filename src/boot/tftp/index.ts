// The read-only TFTP server for the boot root (RFC 1350 with RFC 2347–2349 options and
// RFC 7440 windows). codec.ts: packets to and from Buffers; policy.ts: the pure decisions
// (which path, which options, whether a transfer may start, which refusals are routine);
// boot-root.ts: opening a regular file below the root; block-source.ts: blocks read ahead;
// transfer.ts: one transfer's state machine over Node's dgram; native-transfer.ts: the same
// rules run by src/boot/native/tftp-send.c on a thread per transfer (the default for files
// when the addon is built: Node's per-datagram cost was most of a block's round trip);
// server.ts: the listening socket.
//
// Invariants: nothing outside the boot root is ever read, and only regular files; no packet
// is ever answered with an ERROR unless it is a request (no packet loops between servers);
// a transfer ends within maxStallMs of its last progress; one address holds at most
// maxPerClient transfers; no packet, however malformed, stops the server.
export { type TftpPacket, type TftpRequest, TFTP_ERROR, decodeTftp, encodeTftp } from './codec.js';
export { type Limits, DEFAULT_LIMITS, admit, isProbeFile, negotiate, requestedPath } from './policy.js';
export { type TftpClient, type TftpCounters, type TftpEvent, type TftpLevel, type TftpResolver, type TftpServerOptions, TftpServer } from './server.js';
