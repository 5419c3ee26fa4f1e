// The kernel set made by `make kernels` (kernels/build.sh): vmlinuz and the selected
// modules as Debian signed them, modules.dep/alias, and manifest.json with the SHA-256 of
// every file. Loading it checks every file against the manifest (a changed module would
// be refused by a Secure Boot kernel at the worst moment: on the client) and that every
// module's dependencies are in the set.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { integrityError, userError } from '../errors.js';
import { checkArchivePath } from './cpio.js';

export interface KernelSetFile {
  /** path inside the set, e.g. lib/modules/6.1.0-57-amd64/kernel/drivers/nvme/host/nvme.ko */
  path: string;
  data: Buffer;
}

export interface KernelSet {
  kernelVersion: string;
  package: string;
  vmlinuz: Buffer;
  /** everything under lib/ (modules and their index files) */
  files: KernelSetFile[];
  moduleCount: number;
}

/** Module paths named in modules.dep (keys and dependencies) that are not in `present`. */
export function missingModules(modulesDep: string, present: ReadonlySet<string>): string[] {
  const missing = new Set<string>();
  for (const line of modulesDep.split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const names = colon < 0 ? [line.trim()] : [line.slice(0, colon), ...line.slice(colon + 1).trim().split(/\s+/)];
    for (const n of names) if (n !== '' && !present.has(n)) missing.add(n);
  }
  return [...missing].sort();
}

interface Manifest {
  format: string;
  kernelVersion: string;
  package: string;
  files: { path: string; size: number; sha256: string }[];
}

export function loadKernelSet(dir: string): KernelSet {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (err) {
    throw userError(`kernel set ${dir}: no readable manifest.json (${(err as Error).message}): run \`make kernels\` or pass --kernels <dir>`);
  }
  if (manifest.format !== 'lifeboat-kernel-set' || !/^[0-9][A-Za-z0-9.+_-]*$/.test(manifest.kernelVersion ?? '') || !Array.isArray(manifest.files)) {
    throw userError(`kernel set ${dir}: manifest.json is not a Lifeboat kernel set manifest: run \`make kernels\` again`);
  }
  const files: KernelSetFile[] = [];
  let vmlinuz: Buffer | null = null;
  for (const f of manifest.files) {
    checkArchivePath(f.path);
    let data: Buffer;
    try {
      data = readFileSync(join(dir, f.path));
    } catch {
      throw integrityError(`kernel set ${dir}: ${f.path} is listed in manifest.json but cannot be read: run \`make kernels\` again`);
    }
    if (createHash('sha256').update(data).digest('hex') !== f.sha256) throw integrityError(`kernel set ${dir}: ${f.path} does not match its SHA-256 in manifest.json (changed or damaged): run \`make kernels\` again`);
    if (f.path === 'vmlinuz') vmlinuz = data;
    else if (f.path.startsWith('lib/modules/')) files.push({ path: f.path, data });
  }
  if (vmlinuz === null) throw userError(`kernel set ${dir}: manifest.json lists no vmlinuz`);
  const base = `lib/modules/${manifest.kernelVersion}/`;
  const dep = files.find((f) => f.path === `${base}modules.dep`);
  if (dep === undefined || !files.some((f) => f.path === `${base}modules.alias`)) throw userError(`kernel set ${dir}: modules.dep or modules.alias is missing: run \`make kernels\` again`);
  const present = new Set(files.filter((f) => f.path.startsWith(base)).map((f) => f.path.slice(base.length)));
  const missing = missingModules(dep.data.toString('utf8'), present);
  if (missing.length > 0) throw integrityError(`kernel set ${dir}: modules.dep needs modules that are not in the set: ${missing.slice(0, 5).join(', ')}: run \`make kernels\` again`);
  return { kernelVersion: manifest.kernelVersion, package: manifest.package, vmlinuz, files, moduleCount: [...present].filter((p) => p.endsWith('.ko')).length };
}
