// The agent's run: parameters → inventory → hello to the appliance. Everything it says goes
// to `log` (the console in the boot OS), and every failure ends in a message that says what
// failed and what to check; the caller (/init) shows it and waits, never reboots.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { type BootParams, PARAMS_FILE, decodeParams } from '../bootos/params.js';
import { VERSION } from '../version.js';
import { PinMismatch, postJson } from './appliance-client.js';
import { type Inventory, readInventory } from './inventory.js';

export const HELLO_PATH = 'agent/v1/hello';

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
}

/** Returns the process exit code: 0 hello accepted, 1 failed (the reason was logged). */
export async function runAgent(opts: AgentOptions = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`lifeboat agent: ${line}\n`));
  const root = opts.root ?? '/';
  let params: BootParams;
  try {
    const loaded = loadParams(root);
    params = loaded.params;
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
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await postJson(params, HELLO_PATH, body);
      if (res.status >= 200 && res.status < 300) {
        log(`hello accepted by ${params.url} (HTTP ${res.status})`);
        return 0;
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
}
