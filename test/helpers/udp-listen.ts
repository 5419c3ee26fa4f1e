// Listens on UDP 0.0.0.0:<port> (run inside a network namespace by a test) and prints one
// JSON line per datagram: {"from":…,"hex":…}; first {"listening":true}. Exits after <seconds>.
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] ?? 20);
const sock = createSocket({ type: 'udp4' });
sock.on('message', (msg, rinfo) => process.stdout.write(`${JSON.stringify({ from: rinfo.address, hex: msg.toString('hex') })}\n`));
sock.bind(port, '0.0.0.0', () => process.stdout.write(`${JSON.stringify({ listening: true })}\n`));
setTimeout(() => process.exit(0), seconds * 1000).unref();
setTimeout(() => sock.close(), seconds * 1000);
