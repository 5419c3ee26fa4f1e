// The suite runner turns a skipped test into a failure that names it and its reason,
// unless the developer says LIFEBOAT_ALLOW_SKIP=1.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));

function runFixture(body: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-runner-'));
  try {
    const file = join(dir, 'fixture.test.ts');
    writeFileSync(file, `import test from 'node:test';\n${body}\n`);
    // NODE_TEST_CONTEXT would make the inner runner report to this one instead of running on its own.
    const { LIFEBOAT_ALLOW_SKIP: _allow, NODE_TEST_CONTEXT: _context, ...base } = process.env;
    const r = spawnSync(process.execPath, [RUNNER, file], { encoding: 'utf8', env: { ...base, ...env }, timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a skipped test fails the run and is named with its reason', () => {
  const r = runFixture(`test('needs a tool', { skip: 'frobnicate is not installed' }, () => {});\ntest('runs', () => {});\ntest('skips itself', (t) => { t.skip('needs root'); });`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /2 test\(s\) skipped/);
  assert.match(r.stderr, /needs a tool — frobnicate is not installed/);
  assert.match(r.stderr, /skips itself — needs root/);
});

test('LIFEBOAT_ALLOW_SKIP=1 lets a developer run a subset that skips', () => {
  const r = runFixture(`test('needs a tool', { skip: 'frobnicate is not installed' }, () => {});`, { LIFEBOAT_ALLOW_SKIP: '1' });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /allowed by LIFEBOAT_ALLOW_SKIP=1/);
});

test('a run with no skip and no failure passes; a failure still fails', () => {
  assert.equal(runFixture(`test('ok', () => {});`).status, 0);
  assert.equal(runFixture(`test('bad', () => { throw new Error('no'); });`).status, 1);
});
