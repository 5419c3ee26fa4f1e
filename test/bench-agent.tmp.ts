// ad-hoc measurement (not committed): agent backup/restore through the real daemon vs local image backup/restore
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runAgent } from '../src/agent/agent.js';
import { ApiClient } from '../src/api/client.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { machineRoot, makeDisk } from './helpers/agent-machine.js';
import { lifeboat, sh, tempDir } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

async function freePort(kind: 'tcp' | 'udp') {
  if (kind === 'udp') { const s = createSocket('udp4'); await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r())); const p = s.address().port; s.close(); return p; }
  const srv = createServer(); await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r())); const p = (srv.address() as { port: number }).port; await new Promise((r) => srv.close(r)); return p;
}
const work = tempDir('lifeboat-agent-bench-');
const MB = Number(process.env.MB ?? 40);
const half = randomBytes((MB << 20) / 2);
const files = { 'rand.bin': half, 'text.txt': Buffer.from(Array.from({ length: (MB << 20) / 2 / 32 }, (_, i) => `line ${i} of some text file....\n`.slice(0, 32)).join('')) };
const store = join(work.dir, 'store');
await ImageStore.open(store, { create: true });
mkdirSync(join(work.dir, 'boot'));
const config = join(work.dir, 'config.json');
writeFileSync(config, JSON.stringify({ dockedDir: work.dir, store }));
const [http, tftp] = [await freePort('tcp'), await freePort('udp')];
const daemon = await startDaemon(work.dir, { config, args: ['--interface', 'lo', '--http-port', String(http), '--tftp-port', String(tftp), '--boot-root', join(work.dir, 'boot')] });
const api = new ApiClient(daemon.socket);
const base = `http://127.0.0.1:${http}`;
await api.addMachine({ name: 'm', macs: ['52:54:00:00:00:09'] });
const disk = makeDisk(work.dir, 'a', files);
async function agentRun(type: 'backup' | 'restore', path: string, image?: string) {
  const job = await api.createJob(type === 'backup' ? { type, machine: 'm' } : { type, machine: 'm', image: image as string, confirm: true });
  const script = await (await fetch(`${base}/boot/ipxe?mac=52:54:00:00:00:09&platform=pcbios`)).text();
  const params = (script.match(/lifeboat\.\S+/g) ?? []).join(' ');
  const root = machineRoot(work.dir, params, [{ name: 'vda', serial: 'S', sizeBytes: statSync(path).size }]);
  const t0 = performance.now();
  const lines: string[] = [];
  const code = await runAgent({ root, log: (l) => lines.push(l), devicePath: () => path });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(lines.join('\n'));
  return { ms, job: await api.job(job.id), last: lines.filter((l) => /done/.test(l)).join(' | ') };
}
const b1 = await agentRun('backup', disk);
const b2 = await agentRun('backup', disk);
const target = join(work.dir, 't.img'); sh(`truncate -s 80M ${target}`);
const r1 = await agentRun('restore', target, b1.job.imageId as string);
const local = join(work.dir, 'local');
let t0 = performance.now(); const lb = lifeboat(['image', 'backup', disk, '--store', local]); const lbms = performance.now() - t0;
if (lb.code !== 0) throw new Error(lb.stderr);
const id = JSON.parse(lifeboat(['image', 'list', '--store', local, '--json']).stdout)[0]?.id ?? /(\d{8}T\d{6}Z-[0-9a-f]{8})/.exec(lb.stdout + lb.stderr)?.[1];
const t2 = join(work.dir, 't2.img'); sh(`truncate -s 80M ${t2}`);
t0 = performance.now(); const lr = lifeboat(['image', 'restore', id, t2, '--store', local, '--yes']); const lrms = performance.now() - t0;
console.log(JSON.stringify({ MB, agentBackupMs: Math.round(b1.ms), agentIncrementalMs: Math.round(b2.ms), agentRestoreMs: Math.round(r1.ms), localBackupMs: Math.round(lbms), localRestoreMs: Math.round(lrms), lrcode: lr.code, b1: b1.last, b2: b2.last }, null, 1));
await daemon.stop();
work.cleanup();
