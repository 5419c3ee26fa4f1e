// `make install` into a temporary PREFIX, for real: after `make build` it runs no second
// `npm ci` (nothing downloaded or compiled again); the command runs from PATH; the man page
// renders; the README lands where the units' Documentation= says; package.json's bin exists;
// every path the units name under /usr/local is installed under PREFIX.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, tempDir } from './helpers/cli.js';

test('make install after make build: no npm ci, lifeboat on PATH with its man page and README where the units say', () => {
  const bin = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.lifeboat as string;
  assert.ok(existsSync(join(REPO, bin)), `package.json's bin ${bin} exists`);

  const t = tempDir(`lifeboat-install-${process.pid}-`);
  try {
    const prefix = join(t.dir, 'prefix');
    const dry = spawnSync('make', ['-n', 'install', `PREFIX=${prefix}`], { cwd: REPO, encoding: 'utf8' });
    assert.equal(dry.status, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /npm ci/, 'make install after make build does not run npm ci');

    const r = spawnSync('make', ['install', `PREFIX=${prefix}`], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const v = spawnSync(join(prefix, 'bin', 'lifeboat'), ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
    assert.ok(!existsSync(join(prefix, 'lib/lifeboat/node_modules/typescript')), 'dev dependencies pruned');
    assert.ok(existsSync(join(prefix, 'lib/lifeboat/dist/native/lz4.node')), 'the compiled LZ4 codec came along');
    const man = spawnSync('man', ['-l', join(prefix, 'share/man/man1/lifeboat.1')], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '100' } });
    assert.equal(man.status, 0, man.stderr);
    assert.match(man.stdout, /lifeboat schedule edit/);

    // The units name /usr/local (install-appliance rewrites that to PREFIX): what they point at is where install put it.
    for (const unit of readdirSync(join(REPO, 'systemd')).filter((f) => /\.(service|timer)$/.test(f))) {
      const text = readFileSync(join(REPO, 'systemd', unit), 'utf8');
      for (const [, path] of text.matchAll(/^Documentation=file:\/\/\/usr\/local\/(\S+)$/gm)) assert.ok(existsSync(join(prefix, path as string)), `${unit}: Documentation ${path} is installed`);
      for (const [, exe] of text.matchAll(/^ExecStart=\/usr\/local\/(\S+)/gm)) assert.ok(existsSync(join(prefix, exe as string)), `${unit}: ${exe} is installed`);
    }
  } finally {
    t.cleanup();
  }
});
