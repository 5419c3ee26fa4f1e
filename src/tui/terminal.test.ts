import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENTER, LEAVE } from './terminal.js';

const terminal = fileURLToPath(new URL('./terminal.ts', import.meta.url));

/** Runs `body` in a child that entered full screen; returns its stdout, stderr and exit code. */
function child(body: string) {
  const script = `
    import { enterFullscreen } from ${JSON.stringify(terminal)};
    const s = enterFullscreen(process.stdout, process.stdin, (err) => { process.stderr.write('fatal: ' + err.message); process.exit(70); }, (sig) => { s.restore(); process.exit(sig === 'SIGHUP' ? 129 : 143); });
    ${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('enterFullscreen', () => {
  it('enters the alternate screen and leaves it exactly once on a normal end', () => {
    const r = child('s.restore(); s.restore();');
    assert.equal(r.stdout, ENTER + LEAVE);
  });

  it('leaves it on an uncaught exception and on an unhandled rejection', () => {
    const thrown = child("setTimeout(() => { throw new Error('boom'); }, 0);");
    assert.equal(thrown.status, 70);
    assert.equal(thrown.stdout, ENTER + LEAVE);
    assert.match(thrown.stderr, /fatal: boom/);
    const rejected = child("Promise.reject(new Error('nope'));");
    assert.equal(rejected.stdout, ENTER + LEAVE);
    assert.match(rejected.stderr, /fatal: nope/);
  });

  it('leaves it on SIGTERM and on process.exit', () => {
    const term = child("setTimeout(() => process.kill(process.pid, 'SIGTERM'), 0); setTimeout(() => {}, 5000);");
    assert.equal(term.status, 143);
    assert.equal(term.stdout, ENTER + LEAVE);
    const exited = child('process.exit(3);');
    assert.equal(exited.status, 3);
    assert.equal(exited.stdout, ENTER + LEAVE);
  });
});
