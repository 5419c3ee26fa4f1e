// The boot services: what a client computer's firmware and iPXE send to the appliance and
// get back. So far the DHCP codec (dhcp/codec.ts) with the option readers a PXE server
// needs (dhcp/options.ts: message type, client architecture, PXE and iPXE detection,
// machine UUID), and a read-only TFTP server for the boot root (tftp/: codec, pure
// negotiation and path policy, server). The DHCP server (proxy/full) and HTTP boot come
// with the boot services issue and sit around these as thin socket layers.
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
export { type TftpEvent, type TftpServerOptions, TftpServer } from './tftp/server.js';
