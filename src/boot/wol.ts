// Wake-on-LAN: the magic packet (6 bytes of FF, then the MAC 16 times) sent by UDP to the
// boot network's directed broadcast address, so it leaves by the boot interface only (a
// packet to 255.255.255.255 would leave by the default route). Pure encoders, thin sender.
import { createSocket } from 'node:dgram';

const MAC = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/;

/** The 102-byte magic packet for a MAC written aa:bb:cc:dd:ee:ff. */
export function magicPacket(mac: string): Buffer {
  const m = MAC.exec(mac.toLowerCase());
  if (!m) throw new RangeError(`${JSON.stringify(mac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const bytes = Buffer.from(m.slice(1).join(''), 'hex');
  const packet = Buffer.alloc(6 + 16 * 6, 0xff);
  for (let i = 0; i < 16; i++) bytes.copy(packet, 6 + i * 6);
  return packet;
}

function ipv4ToInt(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) throw new RangeError(`${JSON.stringify(address)} is not an IPv4 address`);
  return parts.reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

/** The directed broadcast address of an interface address and its netmask (10.0.0.1, 255.255.255.0 → 10.0.0.255). */
export function directedBroadcast(address: string, netmask: string): string {
  const b = (ipv4ToInt(address) | ~ipv4ToInt(netmask)) >>> 0;
  return [b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join('.');
}

export interface WakeOptions {
  /** The boot interface's address: the packet leaves from it. */
  from: string;
  /** Its directed broadcast address. */
  broadcast: string;
  /** UDP port, 9 (discard) by default. */
  port?: number;
  /** Copies of each packet (UDP can drop one), 3 by default. */
  copies?: number;
}

/** Sends each MAC's magic packet; resolves when the kernel took them all, rejects naming what failed. */
export async function sendWakeOnLan(macs: readonly string[], opts: WakeOptions): Promise<void> {
  const packets = macs.map(magicPacket);
  const sock = createSocket({ type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: opts.from, port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setBroadcast(true);
    for (let copy = 0; copy < (opts.copies ?? 3); copy++) {
      for (const p of packets) {
        await new Promise<void>((resolve, reject) => sock.send(p, opts.port ?? 9, opts.broadcast, (err) => (err ? reject(err) : resolve())));
      }
    }
  } catch (err) {
    throw new Error(`sending Wake-on-LAN to ${opts.broadcast} from ${opts.from} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    sock.close();
  }
}
