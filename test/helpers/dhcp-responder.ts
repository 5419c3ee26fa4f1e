// A throwaway DHCP responder for test/dhcp-codec.integration.test.ts, run inside its own
// network namespace (so port 67 and broadcasts never touch the host's network): answers a
// DISCOVER with an OFFER and a REQUEST with an ACK for one address, built by the codec
// under test, and prints every message it decoded as a JSON line.
//   node --import tsx test/helpers/dhcp-responder.ts <server-ip> <lease-ip>
import { createSocket } from 'node:dgram';
import { type DhcpMessage, decodeDhcp, encodeDhcp } from '../../src/boot/dhcp/codec.js';
import { OPTION, clientArchitectures, macAddress, messageType, textOption, value } from '../../src/boot/dhcp/options.js';

const [server, lease] = process.argv.slice(2) as [string, string];
const socket = createSocket({ type: 'udp4' });
socket.on('message', (bytes) => {
  let m: DhcpMessage;
  try {
    m = decodeDhcp(bytes);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ malformed: (err as Error).message })}\n`);
    return;
  }
  const type = messageType(m);
  process.stdout.write(
    `${JSON.stringify({ type, xid: m.xid, mac: macAddress(m), vendorClass: textOption(m, OPTION.vendorClass), arch: clientArchitectures(m), requested: m.options.get(OPTION.requestedAddress)?.join('.') ?? null, serverId: m.options.get(OPTION.serverId)?.join('.') ?? null })}\n`,
  );
  const reply = type === 'discover' ? 'offer' : type === 'request' ? 'ack' : null;
  if (!reply) return;
  const options = new Map([
    [OPTION.messageType, value.messageType(reply)],
    [OPTION.serverId, value.ipv4(server)],
    [OPTION.leaseTime, value.u32(600)],
    [OPTION.subnetMask, value.ipv4('255.255.255.0')],
    [OPTION.router, value.ipv4(server)],
  ]);
  // Alone in its namespace, the limited broadcast leaves by the one link there is.
  socket.send(encodeDhcp({ ...m, op: 'reply', hops: 0, secs: 0, yiaddr: lease, siaddr: server, sname: '', file: '', options }), 68, '255.255.255.255');
});
socket.bind(67, '0.0.0.0', () => {
  socket.setBroadcast(true);
  process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
});
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
