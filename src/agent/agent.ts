// The agent's run: parameters → inventory → hello to the appliance → the job it answers
// (job-run.ts), or none. Everything it says goes to `log` (the console in the boot OS), and
// every failure ends in a message that says what failed and what to check.
//
// The exit code tells /init (src/bootos/init.sh) what to do next:
//   0  reboot: no job on a network boot (the next boot is the local disk), or a job done
//      that ends in a reboot
//   3  power off: a job done that ends so
//   4  stay: no job, booted from a medium (a reboot would boot the medium again)
//   1  failed or cancelled: the reason is on the console; /init waits there, never reboots
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { type BootParams, DEFAULT_RETRY_SECONDS, PARAMS_FILE, decodeParams } from '../bootos/params.js';
import { VERSION } from '../version.js';
import { startChunkWorkers } from '../imaging/chunk-pool.js';
import type { AgentJobSpec, HelloAnswer } from '../api/agent-wire.js';
import type { AgentApiOptions } from './agent-api.js';
import { AgentApi } from './agent-api.js';
import { PinMismatch, postJson } from './appliance-client.js';
import { closeApis } from './http-chunks.js';
import { backupWorkersAtStart, jobWorkers, runJob } from './job-run.js';
import { type Inventory, readInventory } from './inventory.js';
import { mountShare } from './share-mount.js';

export const HELLO_PATH = 'agent/v1/hello';

/** Exit codes /init acts on. */
export const EXIT = { reboot: 0, failed: 1, poweroff: 3, stay: 4 } as const;

export interface HelloBody {
  agent: { version: string; node: string };
  inventory: Inventory;
}

/**
 * The boot parameters, from the one place they live: the file embedded in the initramfs
 * (boot media) if there is one, else the kernel command line (network boot).
 */
export function loadParams(root = '/'): { params: BootParams; source: string } {
  const embedded = join(root, PARAMS_FILE);
  const source = existsSync(embedded) ? embedded : join(root, 'proc/cmdline');
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new LifeboatError('user', `boot parameters: cannot read ${source} (${(err as Error).message}): is /proc mounted?`);
  }
  return { params: decodeParams(text), source };
}

export interface AgentOptions {
  root?: string;
  log?: (line: string) => void;
  /** how long to keep trying while the appliance is unreachable (the network may still be coming up) */
  retryForMs?: number;
  /** The device node of a disk (default `<root>/dev/<name>`). */
  devicePath?: (name: string) => string;
  /** Engine worker threads (default: max(4, cores)). */
  workers?: number;
  /** Retry tuning of the job's requests (agent-api.ts); wins over the boot parameter lifeboat.retry. */
  api?: AgentApiOptions;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const isNullOr = (v: unknown, ok: (v: unknown) => boolean) => v === null || ok(v);

/** The hello answer, checked (it decides what is written to this machine's disk). Null: not an answer of this protocol. */
export function checkHello(body: unknown): HelloAnswer | null {
  const a = body as HelloAnswer;
  if (typeof a !== 'object' || a === null || typeof a.machine !== 'string') return null;
  if (a.token !== undefined && (typeof a.token !== 'string' || !/^[A-Za-z0-9_-]{16,256}$/.test(a.token))) return null;
  if (a.job === null) return a;
  const j = a.job as AgentJobSpec;
  if (typeof j !== 'object' || j === null || typeof j.id !== 'string' || j.id.length > 128 || (j.end !== 'reboot' && j.end !== 'poweroff')) return null;
  const d = j.disk;
  if (typeof d !== 'object' || d === null || !isNullOr(d.serial, (s) => typeof s === 'string' && s.length <= 128) || !isNullOr(d.name, (n) => typeof n === 'string' && NAME.test(n))) return null;
  if (j.type === 'backup') return isNullOr(j.label, (l) => typeof l === 'string') ? a : null;
  if (j.type === 'restore') return typeof j.imageId === 'string' && [j.verify, j.growLast].every((b) => typeof b === 'boolean') && (typeof j.verifyFirst === 'boolean' || j.verifyFirst === 'if-partitioned') ? a : null;
  return null;
}

/** Returns the process exit code (EXIT): what /init does next. */
export async function runAgent(opts: AgentOptions = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`lifeboat agent: ${line}\n`));
  const root = opts.root ?? '/';
  let params: BootParams;
  let medium = false;
  try {
    const loaded = loadParams(root);
    params = loaded.params;
    medium = loaded.source !== join(root, 'proc/cmdline');
    log(`parameters from ${loaded.source}: ${params.url}${params.fingerprint ? `, certificate pinned (sha256 ${params.fingerprint.slice(0, 16)}…)` : ''}`);
  } catch (err) {
    log(`${(err as Error).message}`);
    log('nothing was sent to the network. Check the kernel command line (iPXE script / GRUB entry) or rebuild the boot medium.');
    return 1;
  }
  const inventory = readInventory(root);
  log(`machine ${inventory.smbios.system.uuid ?? '(no SMBIOS UUID)'}: ${inventory.disks.length} disk(s) ${inventory.disks.map((d) => `${d.name}${d.serial ? `[${d.serial}]` : ''}`).join(' ')}, ${inventory.nics.length} NIC(s)`);
  const body: HelloBody = { agent: { version: VERSION, node: process.version }, inventory };
  const deadline = Date.now() + (opts.retryForMs ?? 120_000);
  let spec: AgentJobSpec | null = null;
  for (let attempt = 1; spec === null; attempt++) {
    try {
      const res = await postJson(params, HELLO_PATH, body);
      if (res.status >= 200 && res.status < 300) {
        const hello = checkHello(res.body);
        if (!hello) {
          log(`the appliance answered the hello with ${JSON.stringify(res.body)?.slice(0, 200)}: not an answer of this protocol; are the boot OS and the appliance the same version? Nothing was done to this machine`);
          return EXIT.failed;
        }
        log(`hello accepted by ${params.url} (HTTP ${res.status}): this is machine ${hello.machine}`);
        if (hello.job === null) {
          if (medium) {
            log('no job for this machine: remove the boot medium and restart it to boot its local disk');
            return EXIT.stay;
          }
          log('no job: booting the local disk');
          return EXIT.reboot;
        }
        spec = hello.job;
        // The engine's threads boot (~1-2 s each under emulation) while job/start is asked: after
        // the hello, not before (on one vCPU they would delay it). A backup boots one per core
        // and adds the rest only once chunks go to the appliance (an unchanged disk never needs them).
        const n = opts.workers ?? jobWorkers(spec.type);
        startChunkWorkers(spec.type === 'backup' ? backupWorkersAtStart(n) : n);
        // A boot medium's token says hello only; the job's own token comes with the answer.
        if (hello.token !== undefined) params = { ...params, token: hello.token };
        break;
      }
      log(`the appliance refused the hello: HTTP ${res.status} ${typeof res.body === 'string' ? res.body.slice(0, 200) : JSON.stringify(res.body).slice(0, 200)}`);
      if (res.status === 401 || res.status === 403) log('the job token was not accepted: the job may have ended or been cancelled; start it again from the appliance');
      if (res.status < 500) return 1;
    } catch (err) {
      if (err instanceof PinMismatch) {
        log(err.message);
        return 1;
      }
      const msg = (err as Error).message;
      if (Date.now() > deadline) {
        log(`cannot reach the appliance at ${params.url}: ${msg}. Check the network cable, the DHCP lease (ip addr) and that the appliance is running`);
        return 1;
      }
      if (attempt === 1 || attempt % 10 === 0) log(`appliance not reachable yet (${msg}); retrying`);
    }
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * attempt)));
  }
  return job(params, spec, inventory.disks, { ...opts, root }, log);
}

/** The job's request tuning: the retry window of the boot parameters (lifeboat.retry), the console told of outages; `given` wins. Pure. */
export function jobApiOptions(params: BootParams, given: AgentApiOptions = {}): AgentApiOptions {
  return { retryForMs: (params.retrySeconds ?? DEFAULT_RETRY_SECONDS) * 1000, announce: true, ...given };
}

async function job(params: BootParams, spec: AgentJobSpec, disks: Inventory['disks'], opts: AgentOptions, log: (line: string) => void): Promise<number> {
  const apiOptions = jobApiOptions(params, opts.api);
  log(`a request the appliance does not answer is retried for up to ${Math.round((apiOptions.retryForMs ?? 0) / 1000)} s${params.retrySeconds === undefined ? ' (the default)' : ' (lifeboat.retry)'}`);
  const api = new AgentApi(params, apiOptions, log);
  try {
    const outcome = await runJob({
      api,
      ref: { kind: 'agent', url: params.url, token: params.token, fingerprint: params.fingerprint, api: apiOptions },
      job: spec,
      disks,
      devicePath: opts.devicePath ?? ((name) => join(opts.root ?? '/', 'dev', name)),
      log,
      root: opts.root ?? '/',
      mountShare,
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    });
    if (!outcome.ok) return EXIT.failed;
    // the agent's peak resident memory (every thread: one process), for the operator and `make bench`
    const peakMiB = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    log(`job ${spec.id} done: ${outcome.end === 'poweroff' ? 'powering off' : 'rebooting'} (agent peak RSS ${peakMiB} MiB)`);
    return outcome.end === 'poweroff' ? EXIT.poweroff : EXIT.reboot;
  } finally {
    api.close();
    closeApis(); // the main thread's chunk reader (a restore reads partition tables through it)
  }
}
