import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { actorName, parseSsUnix, peerCredentials, peercredAddon, uidFromStatus, userNameFor } from './peer.js';

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

test('the SO_PEERCRED addon is built (make build) and names a peer run as another user', async () => {
  const peercred = peercredAddon();
  assert.ok(peercred, 'dist/native/peercred.node is missing: run make build');
  assert.throws(() => peercred('x' as unknown as number), /fd must be a number/);
  assert.equal(peercred(0x7fffffff), null, 'a bad fd gives null, not a crash');
  if (process.getuid?.() !== 0) return; // running as another user needs root
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-peer-'));
  const path = join(dir, 's.sock');
  try {
    chmodSync(dir, 0o755);
    const seen = new Promise<ReturnType<typeof peercred>>((resolve) => {
      const server = createServer((c) => {
        const fd = (c as unknown as { _handle: { fd: number } })._handle.fd;
        const cred = peercred(fd);
        c.end();
        server.close();
        resolve(cred);
      });
      server.listen(path, () => {
        chmodSync(path, 0o777);
        spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `const c = require('net').connect(${JSON.stringify(path)}); c.on('data', () => {}); c.on('error', () => {});`], { stdio: 'ignore' });
      });
    });
    const cred = await seen;
    assert.equal(cred?.uid, 65534, 'the kernel says who the peer is');
    assert.equal(cred?.gid, 65534);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: the ss and /proc parsers take any text without throwing and return only numbers', () => {
  let seed = 4242;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const sample = 'u_str ESTAB 0 0 /run/lifeboat/api.sock 852812 * 852811 users:(("node",pid=25516,fd=21))\nUid:\t1000\t1000\n';
  const alphabet = ' \t\n*:()=",/0123456789abcdefpiduUsersESTAB_';
  for (let round = 0; round < 2000; round++) {
    const chars = [...sample];
    for (let f = 0; f < 1 + Math.floor(rand() * 8); f++) chars[Math.floor(rand() * chars.length)] = alphabet[Math.floor(rand() * alphabet.length)] as string;
    const text = round % 10 === 0 ? Array.from({ length: 200 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('') : chars.join('');
    for (const line of parseSsUnix(text).values()) {
      assert.ok(Number.isSafeInteger(line.inode) && Number.isSafeInteger(line.peerInode));
      assert.ok(line.pids.every((p) => Number.isSafeInteger(p)));
    }
    const uid = uidFromStatus(text);
    assert.ok(uid === null || Number.isSafeInteger(uid));
    assert.equal(typeof userNameFor(Math.floor(rand() * 2000), text), 'string');
  }
});
