// make bench, DHCP: N distinct MACs (default 500) DISCOVER→OFFER→REQUEST→ACK at once,
// against Lifeboat's DHCP server (full mode, leases in a NeDB file) and against dnsmasq
// (--no-ping: Lifeboat does not ping either), each alone in a network namespace with the
// load generator (test/helpers/dhcp-client.ts, load mode) in another. Bounded: every
// client retries at most 3 times, the run ends after BENCH_DHCP_MS (default 20 s).
// Prints each server's completions, time to the last ACK and rate, and the ratio.
//   node --import tsx test/bench/dhcp-bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonLines, Lab } from '../helpers/netns.js';

const COUNT = Number(process.env.BENCH_DHCP_CLIENTS ?? 500);
const LIMIT_MS = Number(process.env.BENCH_DHCP_MS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_DHCP_ROUNDS ?? 3);
const RANGE = { start: '10.81.1.0', end: '10.81.3.255' };

interface Result {
  completed: number;
  count: number;
  ms: number;
}

async function round(name: 'lifeboat' | 'dnsmasq', n: number): Promise<Result> {
  const lab = new Lab(`b${n}`);
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-dhcp-bench-'));
  try {
    const server = lab.ns('s');
    const client = lab.ns('c');
    const [srvIf, cliIf] = lab.veth(server, client, 'v');
    lab.sh(`ip -n ${server} addr add 10.81.0.1/16 dev ${srvIf} && ip -n ${client} route add 255.255.255.255 dev ${cliIf}`);
    let lifeboat: JsonLines | null = null;
    if (name === 'lifeboat') {
      const s = (lifeboat = new JsonLines(lab.node(server, 'dhcp-server.ts', { interface: srvIf, mode: 'full', range: RANGE, httpPort: 8080, db: join(dir, 'db'), quiet: true })));
      await s.waitFor((l) => l.listening === true, 20_000, 'the Lifeboat server listening');
    } else {
      const d = lab.spawn(server, 'dnsmasq', [
        '--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--port=0', '--user=root', '--group=root', `--interface=${srvIf}`, '--bind-interfaces',
        `--dhcp-range=${RANGE.start},${RANGE.end},255.255.0.0,1h`, '--no-ping', '--dhcp-lease-max=10000', `--dhcp-leasefile=${join(dir, 'leases')}`, `--pid-file=${join(dir, 'pid')}`,
      ]);
      let log = '';
      d.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      for (let t = 0; t < 100 && !/DHCP, IP range/.test(log); t++) await new Promise((r) => setTimeout(r, 50));
      if (!/DHCP, IP range/.test(log)) throw new Error(`dnsmasq did not start: ${log}`);
    }
    const load = new JsonLines(lab.node(client, 'dhcp-client.ts', { mode: 'load', count: COUNT, ms: LIMIT_MS, base: n, iface: cliIf }));
    const r = (await load.waitFor((l) => 'completed' in l, LIMIT_MS + 20_000, 'the load result')) as unknown as Result;
    if (lifeboat && process.env.BENCH_DHCP_VERBOSE) {
      lifeboat.child.kill('SIGTERM');
      const lines = await lifeboat.all();
      console.log('  lifeboat events:', JSON.stringify(lines.find((l) => 'counts' in l)?.counts), JSON.stringify(lines.filter((l) => l.type === 'error').slice(0, 2)));
    }
    return r;
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rate = (r: Result) => (r.ms > 0 ? (r.completed * 1000) / r.ms : 0);
const best: Record<string, Result> = {};
console.log(`== DHCP: ${COUNT} distinct MACs DISCOVER→ACK at once, ${ROUNDS} rounds each (best kept), limit ${LIMIT_MS} ms`);
for (let n = 1; n <= ROUNDS; n++) {
  for (const name of ['dnsmasq', 'lifeboat'] as const) {
    const r = await round(name, n);
    console.log(`${name.padEnd(9)} round ${n}: ${r.completed}/${r.count} completed, last ACK at ${r.ms} ms, ${rate(r).toFixed(0)} completions/s`);
    const b = best[name];
    if (!b || r.completed > b.completed || (r.completed === b.completed && rate(r) > rate(b))) best[name] = r;
  }
}
const [l, d] = [best.lifeboat as Result, best.dnsmasq as Result];
console.log(`DHCP completion rate: lifeboat ${rate(l).toFixed(0)}/s (${l.completed}/${l.count}), dnsmasq ${rate(d).toFixed(0)}/s (${d.completed}/${d.count}): ratio ${(rate(l) / rate(d)).toFixed(2)}× (target ≥ 1.0×)`);
