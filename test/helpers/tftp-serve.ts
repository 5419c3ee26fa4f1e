// Runs Lifeboat's TFTP server on <host>:<port> for <root> (inside a network namespace a
// test made) and prints one JSON line per event; first {"listening":true}. Ends on SIGTERM.
import { TftpServer } from '../../src/boot/tftp/server.js';

const [root, host, port] = process.argv.slice(2);
const server = await TftpServer.start({
  root: root as string,
  host,
  port: Number(port),
  onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
});
process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
