import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { type DhcpSettings, checkDhcpSettings, fixedAddressProblem, interfaceAddress } from './config.js';
import { isNetmask } from './ipv4.js';

const SERVER = { address: '192.168.50.1', netmask: '255.255.255.0' };
const full = (over: Partial<DhcpSettings> = {}): DhcpSettings => ({ interface: 'eth1', mode: 'full', range: { start: '192.168.50.100', end: '192.168.50.199' }, httpPort: 8080, ...over });
const refused = (s: DhcpSettings, pattern: RegExp) => assert.throws(() => checkDhcpSettings(s, SERVER), (e) => e instanceof LifeboatError && e.kind === 'user' && pattern.test(e.message));

test('DHCP settings: good ones pass', () => {
  checkDhcpSettings(full(), SERVER);
  checkDhcpSettings({ interface: 'eth1', mode: 'proxy', httpPort: 80 }, SERVER);
  checkDhcpSettings(full({ range: { start: '10.20.0.10', end: '10.20.0.50' }, netmask: '255.255.255.0' }), SERVER);
});

test('DHCP settings: each mistake is named, with what to do', () => {
  refused(full({ range: undefined }), /full hands out addresses: set a range/);
  refused(full({ range: { start: '192.168.50.200', end: '192.168.50.100' } }), /after its end .*swap them/);
  refused(full({ range: { start: '192.168.50.1', end: '192.168.50.1' } }), /only the server's own address/);
  refused(full({ range: { start: '10.0.0.1', end: '10.0.0.9' } }), /not on the boot interface's subnet .* set its netmask/);
  refused(full({ range: { start: '10.0.0.0', end: '10.2.0.0' }, netmask: '255.0.0.0' }), /more than 65536 addresses/);
  refused(full({ range: { start: '192.168.50.100', end: '192.168.51.10' } }), /spans more than one subnet/);
  refused(full({ netmask: '255.0.255.0' }), /is not a netmask/);
  refused(full({ router: ['gateway'] }), /router "gateway" is not an IPv4 address/);
  refused(full({ dns: ['1.1.1.1', '::1'] }), /DNS server "::1"/);
  refused(full({ domain: 'bad domain' }), /not a domain name/);
  refused(full({ httpPort: 0 }), /not a port number/);
  refused(full({ leaseSeconds: 5 }), /lease time 5 s is out of range/);
  refused({ ...full(), mode: 'off' as never }, /must be full or proxy/);
});

test('interfaceAddress: loopback has 127.0.0.1; a missing interface is named', () => {
  assert.deepEqual(interfaceAddress('lo'), { address: '127.0.0.1', netmask: '255.0.0.0' });
  assert.throws(() => interfaceAddress('lbnosuch0'), /no network interface "lbnosuch0"/);
  assert.throws(() => interfaceAddress(null), /needs a boot interface .* never answers on every interface/);
});

test('netmasks: contiguous ones only', () => {
  for (const m of ['255.255.255.0', '255.255.0.0', '255.255.255.252', '0.0.0.0', '255.255.255.255']) assert.ok(isNetmask(m), m);
  for (const m of ['255.0.255.0', '255.255.255.1', '1.2.3', 'x']) assert.ok(!isNetmask(m), m);
});

test('fixed addresses: on the boot network, not the server, not the range (ISC dhcpd\'s rule); relayed subnets count', () => {
  const net = { server: SERVER, mode: 'full' as const, range: { start: '192.168.50.100', end: '192.168.50.199' } };
  for (const ok of ['192.168.50.20', '192.168.50.99', '192.168.50.200', '192.168.50.254']) assert.equal(fixedAddressProblem(ok, net), null, ok);
  assert.match(fixedAddressProblem('192.168.50.100', net) ?? '', /inside the DHCP range 192\.168\.50\.100-192\.168\.50\.199.*outside it \(as ISC dhcpd requires\)/);
  assert.match(fixedAddressProblem('192.168.50.150', net) ?? '', /inside the DHCP range/);
  assert.match(fixedAddressProblem('192.168.50.1', net) ?? '', /the appliance's own address/);
  assert.match(fixedAddressProblem('192.168.50.255', net) ?? '', /network or broadcast address/);
  assert.match(fixedAddressProblem('192.168.50.0', net) ?? '', /network or broadcast address/);
  assert.match(fixedAddressProblem('192.168.51.20', net) ?? '', /not on the boot network \(192\.168\.50\.1 mask 255\.255\.255\.0\)/);
  assert.match(fixedAddressProblem('x', net) ?? '', /not an IPv4 address/);
  assert.equal(fixedAddressProblem('192.168.50.150', { server: SERVER, mode: 'proxy' }), null, 'proxy mode has no range of its own');
  assert.equal(fixedAddressProblem('192.168.50.150', { ...net, mode: 'off' }), null);
  const relayed = { server: SERVER, mode: 'full' as const, range: { start: '10.20.0.100', end: '10.20.0.150' }, netmask: '255.255.255.0' };
  assert.equal(fixedAddressProblem('10.20.0.20', relayed), null);
  assert.equal(fixedAddressProblem('192.168.50.20', relayed), null, 'the boot subnet itself still counts');
  assert.match(fixedAddressProblem('10.20.0.120', relayed) ?? '', /inside the DHCP range/);
  assert.match(fixedAddressProblem('10.20.0.255', relayed) ?? '', /broadcast/);
  assert.match(fixedAddressProblem('10.21.0.20', relayed) ?? '', /or the relayed range's subnet 10\.20\.0\.100 mask 255\.255\.255\.0/);
});
