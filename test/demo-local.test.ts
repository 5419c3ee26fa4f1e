// `make demo-local` (the engine alone on a file) must keep working end to end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './helpers/cli.js';

test('the demo runs end to end: backup, incremental, restore with read-back, verify, files identical', { skip: process.getuid?.() === 0 ? false : 'the demo runs as root' }, () => {
  const r = spawnSync('bash', [join(REPO, 'test/demo-local.sh')], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /second backup: incremental against the first/);
  assert.match(r.stderr, /against \d{8}T\d{6}Z-[0-9a-f]{8}/, 'the second backup names its parent');
  assert.match(r.stdout, /read back and verified/);
  assert.match(r.stdout, /is intact/);
  assert.match(r.stdout, /No problems found/);
  assert.match(r.stdout, /every file on both partitions is identical to the source/);
});
