import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gidOfGroup, loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('group names from /etc/group text', () => {
  const groups = 'root:x:0:\nlifeboat:x:998:alice,bob\nbroken:x:nine:\n';
  assert.equal(gidOfGroup('lifeboat', groups), 998);
  assert.equal(gidOfGroup('root', groups), 0);
  assert.equal(gidOfGroup('broken', groups), null);
  assert.equal(gidOfGroup('nobody-here', groups), null);
});

test('config: empty file is fine, flags override the file, store defaults under the data dir', () => {
  const empty = loadConfig({ config: file('empty.json', '\n'), dataDir: '/srv/lb' });
  assert.equal(empty.dataDir, '/srv/lb');
  assert.equal(empty.store, '/srv/lb/store');
  assert.equal(empty.dockedDir, '/srv/lb/docked');
  assert.equal(loadConfig({ config: file('d.json', '{"dockedDir": "/srv/images/"}') }).dockedDir, '/srv/images');
  assert.equal(empty.boot.dhcp, 'off');
  const c = loadConfig({ config: file('c.json', JSON.stringify({ dataDir: '/a', socket: '/run/x.sock', store: '/b/store', scheduleTimerDir: null, socketGroup: 'root', boot: { dhcp: 'proxy', interface: 'eth1' } })), socket: '/run/y.sock' });
  assert.deepEqual([c.dataDir, c.socket, c.store, c.scheduleTimerDir, c.socketGid], ['/a', '/run/y.sock', '/b/store', null, 0]);
  assert.deepEqual(c.boot, { interface: 'eth1', dhcp: 'proxy', leaseSeconds: 3600, httpPort: 80, tftpPort: 69, agentPort: 8443, agentPlainHttp: false, bootRoot: '/a/boot', discovery: true, wolPort: 9 });
});

test('config: boot flags win over the file; DHCP modes need what they use', () => {
  const f = file('boot.json', JSON.stringify({ boot: { interface: 'eth1', dhcp: 'full', dhcpRange: '10.0.0.100-10.0.0.150', router: ['10.0.0.1'], httpPort: 8080, agentPort: 9443, agentPlainHttp: true, discovery: false } }));
  const c = loadConfig({ config: f, dataDir: '/d', boot: { interface: 'lab0', tftpPort: '6969', agentPort: '10443', bootRoot: '/srv/boot' } });
  assert.deepEqual(c.boot, { interface: 'lab0', dhcp: 'full', dhcpRange: { start: '10.0.0.100', end: '10.0.0.150' }, router: ['10.0.0.1'], leaseSeconds: 3600, httpPort: 8080, tftpPort: 6969, agentPort: 10443, agentPlainHttp: true, bootRoot: '/srv/boot', discovery: false, wolPort: 9 });
  assert.throws(() => loadConfig({ config: file('e.json', '{}'), boot: { dhcp: 'proxy' } }), /DHCP proxy needs the boot interface: give --interface/);
  assert.throws(() => loadConfig({ config: file('e2.json', '{}'), boot: { dhcp: 'full', interface: 'eth1' } }), /give --dhcp-range first-last/);
  assert.throws(() => loadConfig({ config: file('e3.json', '{}'), boot: { dhcp: 'sometimes' } }), /--dhcp must be off, proxy or full/);
  assert.throws(() => loadConfig({ config: file('e4.json', '{}'), boot: { httpPort: '99999' } }), /--http-port must be a port number/);
  assert.throws(() => loadConfig({ config: file('e4b.json', '{}'), boot: { agentPort: '0' } }), /--agent-port must be a port number/);
  assert.throws(() => loadConfig({ config: file('e4c.json', '{"boot": {"agentPlainHttp": "yes"}}') }), /boot\.agentPlainHttp/);
  assert.throws(() => loadConfig({ config: file('e5.json', '{}'), boot: { interface: 'eth1;rm' } }), /not an interface name/);
  assert.throws(() => loadConfig({ config: file('e6.json', '{}'), boot: { dhcpRange: '10.0.0.1' } }), /--dhcp-range must be first-last/);
});

test('config mistakes are usage errors naming the file and the field', () => {
  assert.throws(() => loadConfig({ config: file('bad.json', '{ nope') }), /bad\.json is not valid JSON/);
  assert.throws(() => loadConfig({ config: file('key.json', '{"dataDri": "/x"}') }), /key\.json: .*dataDri/);
  assert.throws(() => loadConfig({ config: file('dhcp.json', '{"boot": {"dhcp": "maybe"}}') }), /boot\.dhcp/);
  assert.throws(() => loadConfig({ config: file('grp.json', '{"socketGroup": "no-such-group-here"}') }), /socketGroup "no-such-group-here" in the config is not a group: create it/);
  assert.throws(() => loadConfig({ config: join(dir, 'missing.json') }), /missing\.json/);
  assert.doesNotThrow(() => loadConfig({}), 'no --config and no /etc/lifeboat/config.json: defaults');
});

test('config: agent.retrySeconds (the boot parameter lifeboat.retry) defaults to 60 and is checked', () => {
  assert.deepEqual(loadConfig({ config: file('a0.json', '{}') }).agent, { silenceMs: 600_000, cancelMs: 60_000, retrySeconds: 60 });
  assert.equal(loadConfig({ config: file('a1.json', '{"agent": {"retrySeconds": 15}}') }).agent.retrySeconds, 15);
  assert.throws(() => loadConfig({ config: file('a2.json', '{"agent": {"retrySeconds": 4}}') }), /a2\.json: agent\.retrySeconds: .*5/);
  assert.throws(() => loadConfig({ config: file('a3.json', '{"agent": {"retrySeconds": 3601}}') }), /agent\.retrySeconds: .*3600/);
  assert.throws(() => loadConfig({ config: file('a4.json', '{"agent": {"retrySeconds": 7.5}}') }), /agent\.retrySeconds: must be a whole number of seconds \(5 to 3600\)/);
  assert.throws(() => loadConfig({ config: file('a5.json', '{"agent": {"retrySeconds": "30"}}') }), /agent\.retrySeconds/);
});
