// The boot services: what a client computer's firmware and iPXE send to the appliance and
// get back. The DHCP server (dhcp/: codec, option readers, pure decisions for full and
// proxy mode, boot file by architecture, leases, a thin server bound to the boot interface
// by native/), and a read-only TFTP server for the boot root (tftp/: codec, pure
// negotiation and path policy, server). HTTP boot comes next, as another thin layer.
//
// Invariants:
// - Decoders are pure functions over Buffers and never trust a byte: every length is
//   checked against the bytes there are; a packet that is not valid is a MalformedPacket
//   saying what is wrong (a server logs it and drops the packet), never a crash.
// - Readers return null (or []) for an option of the wrong form: an odd client option is
//   ignored, not guessed at.
// - Encoders refuse (RangeError) what cannot be sent rather than truncating it.
export { MalformedPacket } from './malformed.js';
export { type DhcpMessage, decodeDhcp, encodeDhcp } from './dhcp/codec.js';
export * from './dhcp/index.js';
export { type TftpEvent, type TftpServerOptions, TftpServer } from './tftp/server.js';
