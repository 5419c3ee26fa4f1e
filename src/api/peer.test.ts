import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { actorName, parseSsUnix, peerCredentials, uidFromStatus, userNameFor } from './peer.js';

test('ss output: inode, peer inode and pids per socket; headers and odd lines ignored', () => {
  const text = [
    'u_str ESTAB 0      0      /run/lifeboat/api.sock 852812 * 852811 users:(("node",pid=25516,fd=21))',
    'u_str ESTAB 0      0                * 852811 * 852812 users:(("lifeboat",pid=4242,fd=20),("sh",pid=7,fd=3))',
    'u_dgr UNCONN 0 0 * 100 * 0',
    'garbage',
    '',
  ].join('\n');
  const t = parseSsUnix(text);
  assert.deepEqual(t.get(852812), { inode: 852812, peerInode: 852811, pids: [25516] });
  assert.deepEqual(t.get(852811)?.pids, [4242, 7]);
  assert.deepEqual(t.get(100)?.pids, []);
  assert.equal(t.size, 3);
});

test('uid from /proc status; names from passwd; the audit name', () => {
  assert.equal(uidFromStatus('Name:\tbash\nUid:\t1000\t1000\t1000\t1000\n'), 1000);
  assert.equal(uidFromStatus('Name: x\n'), null);
  const passwd = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n';
  assert.equal(userNameFor(1000, passwd), 'alice');
  assert.equal(userNameFor(1234, passwd), 'uid 1234');
  assert.equal(actorName({ pid: 1, uid: 1000, user: 'alice' }, 'root'), 'alice', 'a non-root peer cannot claim another name');
  assert.equal(actorName({ pid: 1, uid: 0, user: 'root' }, 'timer'), 'timer', 'root may speak for the timer');
  assert.equal(actorName({ pid: 1, uid: 0, user: 'root' }, undefined), 'root');
  assert.equal(actorName(null, 'bob'), 'bob (claimed)');
  assert.equal(actorName(null, undefined), 'unknown');
});

test('the peer of a real Unix-socket connection is this process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-peer-'));
  const path = join(dir, 's.sock');
  try {
    const seen = new Promise<Awaited<ReturnType<typeof peerCredentials>>>((resolve) => {
      const server = createServer((c) => {
        void peerCredentials(c).then((p) => {
          c.destroy();
          server.close();
          resolve(p);
        });
      });
      server.listen(path, () => {
        const client = connect(path);
        client.on('error', () => {});
      });
    });
    const peer = await seen;
    assert.ok(peer, 'the peer is identified');
    assert.equal(peer.pid, process.pid);
    assert.equal(peer.uid, process.getuid?.());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
