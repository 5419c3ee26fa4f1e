// The SO_BINDTODEVICE addon (dist/native/bind-device.node, from `make build`) on the
// loopback interface, which every machine and namespace has.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { bindDeviceAddon, udpSocketOnDevice } from './index.js';

const root = process.getuid?.() === 0;

test('udpSocketOnDevice: a socket bound to lo receives there and says so', { skip: root ? false : 'SO_BINDTODEVICE needs root (CAP_NET_RAW)' }, async () => {
  const s = await udpSocketOnDevice('lo', 0, '127.0.0.1');
  try {
    const port = s.address().port;
    const got = new Promise<string>((resolve) => s.once('message', (m) => resolve(m.toString())));
    const sender = createSocket('udp4');
    sender.send('hello', port, '127.0.0.1', () => sender.close());
    assert.equal(await got, 'hello');
  } finally {
    s.close();
  }
});

test('udpSocketOnDevice: an interface that does not exist is a user error naming it', { skip: root ? false : 'needs root' }, async () => {
  await assert.rejects(udpSocketOnDevice('lbnosuch0', 0), (e) => e instanceof LifeboatError && e.kind === 'user' && /no network interface "lbnosuch0"/.test(e.message));
});

test('a port another socket holds on the same device is refused, not shared', { skip: root ? false : 'needs root' }, async () => {
  const a = await udpSocketOnDevice('lo', 0, '127.0.0.1');
  const port = a.address().port;
  try {
    await assert.rejects(udpSocketOnDevice('lo', port, '127.0.0.1'), /taken by another program/, 'the same device and port twice is refused');
    const unbound = createSocket('udp4');
    const err = await new Promise<Error | null>((resolve) => {
      unbound.once('error', resolve);
      unbound.bind(port, '127.0.0.1', () => resolve(null));
    });
    unbound.close();
    assert.ok(err, 'a socket on every device cannot take the port either');
  } finally {
    a.close();
  }
});

test('the addon checks its arguments and never crashes on bad ones', () => {
  const addon = bindDeviceAddon();
  assert.throws(() => addon.bindToDevice('x' as unknown as number, 'lo'), /fd must be a number/);
  assert.throws(() => addon.bindToDevice(0x7fffffff, 'lo'), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  assert.throws(() => addon.openUdpOnDevice('a'.repeat(16), '0.0.0.0', 0), /1 to 15 bytes/);
  assert.throws(() => addon.openUdpOnDevice('', '0.0.0.0', 0), /1 to 15 bytes/);
  assert.throws(() => addon.openUdpOnDevice('../lo', '0.0.0.0', 0), /character no interface name has/);
  assert.throws(() => addon.openUdpOnDevice('lo', '300.1.1.1', 0), /dotted-quad/);
  assert.throws(() => addon.openUdpOnDevice('lo', '127.0.0.1', 70000), /0 to 65535/);
  assert.throws(() => addon.boundDevice(0x7fffffff), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
});
