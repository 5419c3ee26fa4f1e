// What a network decoder throws for bytes that are not a valid packet of its protocol.
// Packets come from any machine on the LAN: a server logs the message and drops the
// packet; nothing about a malformed packet may crash a service or read out of bounds.
export class MalformedPacket extends Error {
  constructor(
    readonly protocol: string,
    message: string,
  ) {
    super(`malformed ${protocol} packet: ${message}`);
    this.name = 'MalformedPacket';
  }
}
