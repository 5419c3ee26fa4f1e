// The operator-safety rule for daemon jobs, applied before a job exists: a job's device is a
// whole disk docked in the appliance that is not part of the appliance's own system, or a
// disk-image file under the docked directory (resolved, no symlink out of it); and it is not
// in use. Any member of the operator group may ask for a job and the daemon runs as root, so
// anything else is refused here, with what was wrong and what is allowed.
import { realpathSync } from 'node:fs';
import { userError } from '../errors.js';
import { type DeviceOperation, daemonRefusal, inspectDevice, readKernelView, systemDevices, systemRoles, type KernelView } from '../devices/index.js';

export interface DevicePolicyConfig {
  dataDir: string;
  store: string;
  dockedDir: string;
}

/** Device name → the system roles it holds, for this appliance. */
export function applianceSystemDevices(cfg: DevicePolicyConfig, view: KernelView = readKernelView()): Map<string, string[]> {
  return systemDevices(view, systemRoles(view, [
    { role: 'the data directory', path: cfg.dataDir },
    { role: 'the image store', path: cfg.store },
  ]));
}

/** The docked directory with every symlink resolved (as configured when it does not exist yet). */
export function resolvedDockedDir(dockedDir: string): string {
  try {
    return realpathSync(dockedDir);
  } catch {
    return dockedDir;
  }
}

/**
 * Checks the device of a new daemon job and returns the path to record and use: the kernel's
 * own node (/dev/<name>) for a block device, so every alias of a disk is one disk (one job at
 * a time); the resolved path for a file. Throws a user error when it must not be used.
 */
export function checkJobDevice(op: DeviceOperation, path: string, cfg: DevicePolicyConfig): string {
  const view = readKernelView();
  const d = inspectDevice(path, view);
  const refusal = daemonRefusal(op, d, { dockedDir: resolvedDockedDir(cfg.dockedDir), system: applianceSystemDevices(cfg, view) });
  if (refusal !== null) throw userError(refusal);
  return d.canonical;
}
