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
  assert.deepEqual([c.dataDir, c.socket, c.store, c.scheduleTimerDir, c.socketGid, c.boot], ['/a', '/run/y.sock', '/b/store', null, 0, { interface: 'eth1', dhcp: 'proxy' }]);
});

test('config mistakes are usage errors naming the file and the field', () => {
  assert.throws(() => loadConfig({ config: file('bad.json', '{ nope') }), /bad\.json is not valid JSON/);
  assert.throws(() => loadConfig({ config: file('key.json', '{"dataDri": "/x"}') }), /key\.json: .*dataDri/);
  assert.throws(() => loadConfig({ config: file('dhcp.json', '{"boot": {"dhcp": "maybe"}}') }), /boot\.dhcp/);
  assert.throws(() => loadConfig({ config: file('grp.json', '{"socketGroup": "no-such-group-here"}') }), /socketGroup "no-such-group-here" in the config is not a group: create it/);
  assert.throws(() => loadConfig({ config: join(dir, 'missing.json') }), /missing\.json/);
  assert.doesNotThrow(() => loadConfig({}), 'no --config and no /etc/lifeboat/config.json: defaults');
});
