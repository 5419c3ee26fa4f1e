// Restore safety, as a pure decision over records: may this image go onto this target,
// and how hard must the operator confirm? A target smaller than the image (or in use) is
// refused before anything is submitted. A target other than the image's own source needs
// the target's name typed in full (machine name, or device path for a docked disk), with
// both identities shown side by side; restoring onto the source itself still asks y/n.
import type { Disk, LocalDevice, Machine, NewJobBody } from '../api/contract.js';
import type { ImageView } from './data-state.js';
import { shortBytes } from './format.js';

export type RestoreTarget = { kind: 'machine'; machine: Machine; disk: Disk } | { kind: 'device'; device: LocalDevice };

export interface Identity {
  title: string;
  rows: Array<[string, string]>;
}

export type RestorePlan =
  | { verdict: 'refused'; reason: string }
  | { verdict: 'same' | 'other'; body: NewJobBody; source: Identity; target: Identity; /** What must be typed for 'other'. */ mustType: string };

/** The bytes a target needs: the image's minimum when it knows one, else its source disk's size. */
export const neededBytes = (image: ImageView): number => image.minTargetBytes ?? image.diskSize;

const gb = (n: number) => `${(n / 1e9).toFixed(n >= 1e11 ? 0 : 1)} GB`;
const size = (n: number) => `${gb(n)} (${shortBytes(n)})`;

export function sourceIdentity(image: ImageView, machines: readonly Machine[]): Identity {
  const owner = image.machineId ? machines.find((m) => m.id === image.machineId) : undefined;
  return {
    title: 'SOURCE (image)',
    rows: [
      ['machine', owner?.name ?? (image.machineId ? `id ${image.machineId}` : `appliance (${image.host})`)],
      ['disk', image.sourcePath],
      ['model', image.diskModel ?? '-'],
      ['serial', image.diskSerial ?? '-'],
      ['size', size(image.diskSize)],
      ['image', image.id],
    ],
  };
}

export function targetIdentity(target: RestoreTarget): Identity {
  if (target.kind === 'device') {
    const d = target.device;
    return { title: 'TARGET (docked disk)', rows: [['machine', 'appliance'], ['disk', d.path], ['model', d.model ?? '-'], ['serial', d.serial ?? '-'], ['size', size(d.sizeBytes)]] };
  }
  const { machine, disk } = target;
  return { title: 'TARGET (machine)', rows: [['machine', machine.name], ['disk', disk.devicePath], ['model', disk.model ?? '-'], ['serial', disk.serial ?? '-'], ['size', size(disk.size)]] };
}

function isSource(image: ImageView, target: RestoreTarget): boolean {
  if (target.kind === 'machine') {
    if (image.machineId !== target.machine.id) return false;
    return image.diskSerial ? image.diskSerial === target.disk.serial : image.sourcePath === target.disk.devicePath;
  }
  const d = target.device;
  if (image.machineId || image.sourcePath !== d.path) return false;
  return !(image.diskSerial && d.serial && image.diskSerial !== d.serial);
}

export function planRestore(image: ImageView, target: RestoreTarget, machines: readonly Machine[]): RestorePlan {
  const needed = neededBytes(image);
  const name = target.kind === 'device' ? target.device.path : `${target.machine.name}:${target.disk.devicePath}`;
  const have = target.kind === 'device' ? target.device.sizeBytes : target.disk.size;
  if (target.kind === 'device' && target.device.system) return { verdict: 'refused', reason: `${name} is the appliance's own system disk (it holds ${target.device.system}): it is never a restore target` };
  if (target.kind === 'device' && target.device.inUse) return { verdict: 'refused', reason: `${name} is in use (mounted, or holds the appliance's own filesystems): it is never a restore target` };
  if (have < needed) return { verdict: 'refused', reason: `disk ${name} is ${gb(have)}; image ${image.id} needs ${gb(needed)} (${needed} bytes): choose a larger disk` };
  const body: NewJobBody =
    target.kind === 'device'
      ? { type: 'restore', image: image.id, device: target.device.path, confirm: true }
      : { type: 'restore', image: image.id, machine: target.machine.name, disk: target.disk.serial ?? target.disk.devicePath, confirm: true };
  return {
    verdict: isSource(image, target) ? 'same' : 'other',
    body,
    source: sourceIdentity(image, machines),
    target: targetIdentity(target),
    mustType: target.kind === 'device' ? target.device.path : target.machine.name,
  };
}
