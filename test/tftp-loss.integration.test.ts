// The TFTP server under packet loss, with real clients: the server (test/helpers/tftp-server.ts,
// on port 69) in one network namespace, tftp-hpa and curl in another, a veth pair between
// them, and 2% of UDP datagrams dropped each way. This kernel has no netem (sch_netem is not
// built), so the loss comes from nftables: `numgen random mod 1000 < 20 drop` on each end's
// input (on output the sender would see EPERM, which real loss never shows). Twelve clients at once must each get their file whole. All created and removed here.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, sh, tempDir } from './helpers/cli.js';

const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : false;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs a command in a namespace to its end, without blocking this process. */
function inNs(ns: string, command: string[], input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The server's JSON lines; `ready` resolves on {"listening":true}. */
function serverLines(child: ChildProcess) {
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the TFTP server exited (${code}) before listening`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.listening) resolve();
      }
    });
  });
  return { lines, ready };
}

const lossRules = (permille: number) => `table inet lifeboat_loss {
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp numgen random mod 1000 < ${permille} counter drop; }
}`;

test('under 2% loss each way, tftp-hpa and curl (with and without blksize), twelve at once, all get their files whole', { skip, timeout: 180_000 }, async () => {
  const tag = `lbt${process.pid % 100000}`;
  const [cli, srv] = [`${tag}c`, `${tag}s`];
  const [serverIp, clientIp] = ['10.214.9.1', '10.214.9.2'];
  const t = tempDir('lifeboat-tftp-loss-');
  const root = join(t.dir, 'boot');
  mkdirSync(root, { mode: 0o755 });
  const files = ['a.bin', 'b.bin', 'c.bin'].map((name) => ({ name, data: randomBytes(256 * 1024 + 77) }));
  for (const f of files) writeFileSync(join(root, f.name), f.data);
  let server: ChildProcess | null = null;
  try {
    sh(`ip netns add ${cli} && ip netns add ${srv}`);
    sh(`ip link add ${tag}a netns ${cli} type veth peer name ${tag}b netns ${srv}`);
    sh(`ip -n ${srv} addr add ${serverIp}/24 dev ${tag}b && ip -n ${cli} addr add ${clientIp}/24 dev ${tag}a`);
    sh(`ip -n ${srv} link set ${tag}b up && ip -n ${cli} link set ${tag}a up && ip -n ${srv} link set lo up && ip -n ${cli} link set lo up`);
    for (const ns of [cli, srv]) sh(`ip netns exec ${ns} nft -f - <<'EOF'\n${lossRules(20)}\nEOF`);

    // All twelve clients share one address here (on a LAN each machine has its own): the
    // per-client cap is raised to let them in. curl asks for "timeout 5" (its own retransmit
    // interval), which the server would honour, losing 5 s per lost packet: a 1 s cap refuses
    // it, so the server retransmits after its own 300 ms.
    const limits = { defaultTimeoutMs: 300, retries: 10, maxPerClient: 12, maxTimeoutS: 1 };
    server = spawn('ip', ['netns', 'exec', srv, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/tftp-server.ts'), root, serverIp, '69', JSON.stringify(limits)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const { lines, ready } = serverLines(server);
    await ready;

    const out = (i: number) => join(t.dir, `out-${i}`);
    const clients = Array.from({ length: 12 }, (_, i) => {
      const f = files[i % files.length] as { name: string; data: Buffer };
      const kind = ['tftp-hpa', 'curl', 'curl --tftp-blksize 1468'][i % 3] as string;
      const run =
        kind === 'tftp-hpa'
          ? inNs(cli, ['tftp', serverIp], `rexmt 1\ntimeout 60\nbinary\nget ${f.name} ${out(i)}\nquit\n`)
          : inNs(cli, ['curl', '-sS', '--max-time', '120', ...(kind === 'curl' ? [] : ['--tftp-blksize', '1468']), '-o', out(i), `tftp://${serverIp}/${f.name}`]);
      const started = Date.now();
      return run.then((r) => ({ i, kind, file: f, ms: Date.now() - started, ...r }));
    });
    const results = await Promise.all(clients);
    process.stdout.write(`# ${results.map((r) => `${r.kind}: ${r.ms} ms`).join(', ')}\n`);
    for (const r of results) {
      let got = Buffer.alloc(0);
      try {
        got = readFileSync(out(r.i));
      } catch {
        // no file: compared below
      }
      assert.equal(sha(got), sha(r.file.data), `client ${r.i} (${r.kind}) fetching ${r.file.name}: ${got.length} of ${r.file.data.length} bytes; ${r.out}`);
    }

    const dropped = [cli, srv].map((ns) => Number(/counter packets (\d+)/.exec(sh(`ip netns exec ${ns} nft list table inet lifeboat_loss`))?.[1] ?? 0));
    assert.ok(dropped.every((n) => n > 0), `datagrams dropped each way: ${dropped.join(', ')}`);
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    const counters = lines.find((l) => l.counters)?.counters as Record<string, number> | undefined;
    assert.ok(counters, 'the server reported its counters on SIGTERM');
    const payload = 4 * files.reduce((n, f) => n + f.data.length, 0);
    assert.ok((counters.bytesSent as number) > payload, `retransmissions: ${counters.bytesSent} bytes sent for ${payload}`);
    // The client's last ACK may be lost after it has its file: the server then counts a failure.
    assert.equal((counters.transfersCompleted as number) + (counters.transfersFailed as number), (counters.transfersStarted as number) - (counters.transfersAborted as number));
    assert.ok((counters.transfersCompleted as number) >= 10, JSON.stringify(counters));
  } finally {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', cli]);
    spawnSync('ip', ['netns', 'del', srv]);
    t.cleanup();
  }
});
