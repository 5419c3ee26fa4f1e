// The agent bundle (src/bootos/bundle-agent.sh) as the boot OS runs it, without the VM: laid
// out as in the initramfs (dist/agent/{agent,chunk-worker}.cjs, dist/native/lz4.node), run
// by Node 24 (the boot OS's runtime, var/node24) and by the Node running the tests (20 here). `agent.cjs selftest`
// must boot the chunk worker pool from the bundle, load the LZ4 codec addon in every
// thread and round-trip its chunks; a missing codec or worker must fail with a clear line
// and an exit code, never hang.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { REPO, tempDir } from './helpers/cli.js';

let work: ReturnType<typeof tempDir>;
let node24 = '';
let agent = '';
let addon = '';

before(() => {
  work = tempDir(`lifeboat-agent-bundle-${process.pid}-`);
  agent = join(work.dir, 'dist/agent/agent.cjs');
  addon = join(work.dir, 'dist/native/lz4.node');
  mkdirSync(join(work.dir, 'dist/native'), { recursive: true });
  execFileSync('bash', [join(REPO, 'src/bootos/bundle-agent.sh'), agent]);
  copyFileSync(join(REPO, 'dist/native/lz4.node'), addon); // from `make build`
  node24 = execFileSync('bash', [join(REPO, 'src/bootos/node-runtime.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  process.on('exit', () => work.cleanup());
});

const run = (node: string, args: string[]) => spawnSync(node, [agent, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: work.dir } });

// node24 is known once before() ran: each runtime is picked inside its test.
const runtimes = [
  { name: 'Node 24 (the boot OS runtime)', node: () => node24, version: /v24\.\d+\.\d+/ },
  { name: `the Node running these tests (${process.version})`, node: () => process.execPath, version: new RegExp(process.version.replace(/\./g, '\\.')) },
];

for (const rt of runtimes) {
  test(`${rt.name}: agent.cjs selftest runs the engine's worker threads and LZ4 codec from the bundle`, () => {
    const r = run(rt.node(), ['selftest']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^lifeboat agent: selftest OK: 8\.0 MiB in 8 chunks through 2 worker threads, LZ4 \(liblz4 [\d.]+\) [\d.]+x, every frame decoded and SHA-256 checked, a damaged frame refused/m);
    assert.match(r.stdout, new RegExp(`\\(Node ${rt.version.source}, codec ${addon.replace(/[.]/g, '\\.')}\\)`));
  });
}

test('without the codec beside the bundle: a clear failure naming the file and what to run', () => {
  renameSync(addon, `${addon}.away`);
  try {
    const r = run(node24, ['selftest']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`selftest FAILED: the LZ4 codec ${addon.replace(/[.]/g, '\\.')} is missing: run \`make build\``));
  } finally {
    renameSync(`${addon}.away`, addon);
  }
});

test('without the chunk worker beside the bundle: the pool fails, the selftest says so and exits (no hang)', () => {
  const worker = join(work.dir, 'dist/agent/chunk-worker.cjs');
  renameSync(worker, `${worker}.away`);
  try {
    const r = run(node24, ['selftest']);
    assert.equal(r.signal, null, 'it exited by itself');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /selftest FAILED: .*worker thread (crashed|exited).*chunk-worker\.cjs/);
  } finally {
    renameSync(`${worker}.away`, worker);
  }
});

test('an unknown argument is refused with usage (exit 2)', () => {
  const r = run(node24, ['--bogus']);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /unknown argument "--bogus": run it without arguments \(the agent\) or with `selftest`/);
});
