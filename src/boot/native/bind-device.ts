// Loads dist/native/bind-device.node and opens dgram sockets bound to one interface.
import { type Socket, createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bug, userError } from '../../errors.js';

const ADDON = new URL('../../../dist/native/bind-device.node', import.meta.url);

export interface BindDeviceAddon {
  /** SO_BINDTODEVICE on an open socket. Throws (code ENODEV, EPERM…) on failure. */
  bindToDevice(fd: number, ifname: string): void;
  /** The interface a socket is bound to, "" for none. */
  boundDevice(fd: number): string;
  /** A new UDP socket (SO_BROADCAST, SO_BINDTODEVICE, then bind); its fd. */
  openUdpOnDevice(ifname: string, address: string, port: number): number;
}

let addon: BindDeviceAddon | undefined;

/** The addon; throws a user error saying how to build it when it is missing. */
export function bindDeviceAddon(): BindDeviceAddon {
  if (addon) return addon;
  if (!existsSync(ADDON)) throw userError(`${ADDON.pathname} is missing, so no socket can be tied to the boot interface: run \`make build\` (it compiles src/boot/native/bind-device.c)`);
  try {
    addon = createRequire(import.meta.url)(ADDON.pathname) as BindDeviceAddon;
  } catch (err) {
    throw userError(`${ADDON.pathname} does not load (${(err as Error).message}): run \`make build\` again`);
  }
  return addon;
}

/**
 * A dgram socket that hears and sends on `ifname` only, bound to `address`:`port`
 * (0.0.0.0 hears broadcasts; sockets on different interfaces may share a port; the same port on the same interface, or on every interface, is refused).
 */
export async function udpSocketOnDevice(ifname: string, port: number, address = '0.0.0.0'): Promise<Socket> {
  const native = bindDeviceAddon();
  let fd: number;
  try {
    fd = native.openUdpOnDevice(ifname, address, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODEV') throw userError(`there is no network interface ${JSON.stringify(ifname)}: check the boot interface in the configuration (\`ip link\` lists them)`);
    if (code === 'EPERM' || code === 'EACCES') throw userError(`binding UDP port ${port} on ${ifname} needs root or CAP_NET_RAW and CAP_NET_BIND_SERVICE: run the daemon as root`);
    if (code === 'EADDRINUSE') throw userError(`UDP port ${port} on ${ifname} is taken by another program (another DHCP server such as dnsmasq?): stop it, or set Lifeboat's DHCP mode to off`);
    throw userError(`opening UDP port ${port} on ${ifname}: ${(err as Error).message}`);
  }
  const socket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // dgram wraps the very fd (uv_udp_open): it must still say the device.
  if (native.boundDevice(fd) !== ifname) {
    socket.close();
    throw bug(`the socket for ${ifname} is not bound to it after opening`);
  }
  return socket;
}
