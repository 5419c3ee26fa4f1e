// A raw TFTP client for tests: sends what real clients never do (lost ACKs, stray packets,
// requests it never follows up) from a UDP port of its own, and hands back every packet it
// receives, with the port it came from.
import { createSocket } from 'node:dgram';
import { type TftpPacket, decodeTftp, encodeTftp } from '../../src/boot/tftp/codec.js';

export interface Received {
  p: TftpPacket;
  port: number;
}

export async function rawClient(serverPort: number, bindAddress = '127.0.0.1', serverHost = '127.0.0.1') {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, bindAddress, () => resolve()));
  const got: Received[] = [];
  let wake: (() => void) | null = null;
  sock.on('message', (b, r) => {
    got.push({ p: decodeTftp(b), port: r.port });
    wake?.();
  });
  return {
    port: sock.address().port,
    send: (p: TftpPacket, to = serverPort) => sock.send(encodeTftp(p), to, serverHost),
    sendBytes: (b: Buffer, to = serverPort) => sock.send(b, to, serverHost),
    /** The next packet within `ms`, or null. */
    async next(ms = 2000): Promise<Received | null> {
      if (got.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
      return got.shift() ?? null;
    },
    /** Everything received and not yet taken, after waiting `ms`. */
    async drain(ms: number): Promise<Received[]> {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return got.splice(0);
    },
    close: () => sock.close(),
  };
}
