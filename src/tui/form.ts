// The console's forms, pure: the fields of a machine (name, MACs, group, notes) and of a
// backup (its label), what typing does to them, and what they become as an API body.
// A form that the daemon refuses stays open with what was typed and the daemon's reason,
// so nothing the operator typed is lost.
import type { Machine, MachinePatchBody, NewJobBody, NewMachineBody } from '../api/contract.js';

export interface FormField {
  key: string;
  label: string;
  value: string;
  hint?: string;
}

export type FormPurpose = { kind: 'machine-add' } | { kind: 'machine-edit'; name: string } | { kind: 'backup-label'; bodies: NewJobBody[]; what: string };

/** The longest a field may grow (the daemon's limits are smaller; it says so). */
export const FIELD_MAX = 4096;

export function machineFields(m?: Pick<Machine, 'name' | 'macs' | 'group' | 'notes'>): FormField[] {
  return [
    { key: 'name', label: 'name', value: m?.name ?? '', hint: 'like a host name: letters, digits and -' },
    { key: 'macs', label: 'MACs', value: m?.macs.join(' ') ?? '', hint: 'one or more, space or comma between' },
    { key: 'group', label: 'group', value: m?.group ?? '', hint: 'optional: lower-case letters, digits and -' },
    { key: 'notes', label: 'notes', value: m?.notes ?? '', hint: 'optional' },
  ];
}

export const labelFields = (): FormField[] => [{ key: 'label', label: 'label', value: '', hint: 'optional: given to the image (e.g. "before the upgrade")' }];

const value = (fields: readonly FormField[], key: string) => fields.find((f) => f.key === key)?.value.trim() ?? '';

/** "52:54:00:aa:bb:01, 52-54-00-aa-bb-02" → the MACs as typed, split on spaces and commas. */
export function parseMacs(text: string): string[] {
  return text.split(/[\s,;]+/).filter(Boolean);
}

/** A new machine from the form, or what is missing (said before anything is sent). */
export function newMachineBody(fields: readonly FormField[]): NewMachineBody | { problem: string } {
  const name = value(fields, 'name');
  const macs = parseMacs(value(fields, 'macs'));
  if (!name) return { problem: 'a machine needs a name: type one in the name field' };
  if (macs.length === 0) return { problem: 'a machine needs at least one MAC address (e.g. 52:54:00:12:34:56): the boot services know it by its MACs' };
  const group = value(fields, 'group');
  const notes = value(fields, 'notes');
  return { name, macs, ...(group ? { group } : {}), ...(notes ? { notes } : {}) };
}

/** Only what changed; an emptied group or notes becomes "" (cleared). */
export function machinePatch(before: Pick<Machine, 'name' | 'macs' | 'group' | 'notes'>, fields: readonly FormField[]): MachinePatchBody | { problem: string } {
  const whole = newMachineBody(fields);
  if ('problem' in whole) return whole;
  const patch: MachinePatchBody = {};
  if (whole.name !== before.name) patch.name = whole.name;
  if (whole.macs.join(' ') !== before.macs.join(' ')) patch.macs = whole.macs;
  if ((whole.group ?? '') !== (before.group ?? '')) patch.group = whole.group ?? '';
  if ((whole.notes ?? '') !== (before.notes ?? '')) patch.notes = whole.notes ?? '';
  return Object.keys(patch).length ? patch : { problem: 'nothing changed: edit a field, or esc to close' };
}

/** The backup jobs with the label typed (none: no label). */
export function withLabel(bodies: readonly NewJobBody[], fields: readonly FormField[]): NewJobBody[] {
  const label = value(fields, 'label');
  return bodies.map((b) => (b.type === 'backup' && label ? { ...b, label } : b));
}

/** Typing into the field at `cursor` (a burst of keys arrives as text), bounded. */
export function typeInto(fields: readonly FormField[], cursor: number, text: string): FormField[] {
  return fields.map((f, i) => (i === cursor ? { ...f, value: (f.value + text).slice(0, FIELD_MAX) } : f));
}

export function eraseFrom(fields: readonly FormField[], cursor: number, count: number): FormField[] {
  return fields.map((f, i) => (i === cursor ? { ...f, value: [...f.value].slice(0, Math.max(0, [...f.value].length - count)).join('') } : f));
}
