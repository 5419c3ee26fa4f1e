// Where a backup of a machine's disk goes: the appliance (the default), a store on a disk
// attached to the client (found by its filesystem's label or UUID, mounted by the agent),
// or a store on a network share the appliance names in its config. The operator writes it
// as `appliance`, `disk:LABEL=<label>`, `disk:UUID=<uuid>` or `share:<name>` (CLI `--to`,
// the API's `destination`); the job record keeps the parsed form. Pure: no zod, so the CLI
// and the agent's bundle may load it.
import { usageError } from '../errors.js';
import type { JobDestination } from './wire.js';

export type { JobDestination };

/** A filesystem label the agent looks for: what ext4 (16 bytes) and FAT (11) hold, without spaces or shell-special characters. */
export const DEST_LABEL = /^[A-Za-z0-9._-]{1,16}$/;
/** A filesystem UUID as blkid prints it: ext (8-4-4-4-12 hex), FAT and exFAT (XXXX-XXXX), NTFS (16 hex). */
export const DEST_UUID = /^(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}|[0-9A-Fa-f]{16})$/;
/** A share's name in the daemon's config (`shares: { <name>: … }`). */
export const SHARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const FORMS = '`appliance`, `disk:LABEL=<label>`, `disk:UUID=<uuid>` or `share:<name>`';

/** The problem with a destination text, or null when it is one. Pure. */
export function destinationProblem(text: string): string | null {
  try {
    parseDestination(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Parses the operator's form; null for `appliance`. Throws a usage error that says what was wrong. Pure. */
export function parseDestination(text: string): JobDestination | null {
  const shown = JSON.stringify(String(text).slice(0, 80));
  if (typeof text !== 'string' || text.length === 0 || text.length > 128) throw usageError(`destination ${shown} is not one of ${FORMS}`);
  if (text === 'appliance') return null;
  if (text.startsWith('disk:')) {
    const rest = text.slice(5);
    const eq = rest.indexOf('=');
    const key = eq < 0 ? '' : rest.slice(0, eq).toUpperCase();
    const value = eq < 0 ? '' : rest.slice(eq + 1);
    if (key === 'LABEL') {
      if (!DEST_LABEL.test(value)) throw usageError(`destination ${shown}: a filesystem label is 1 to 16 letters, digits, '.', '_' or '-' (as e2label or fatlabel shows it)`);
      return { kind: 'client-disk', label: value };
    }
    if (key === 'UUID') {
      if (!DEST_UUID.test(value)) throw usageError(`destination ${shown}: a filesystem UUID looks like 0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d (ext4) or 1A2B-3C4D (FAT), as blkid shows it`);
      return { kind: 'client-disk', uuid: value.toLowerCase() };
    }
    throw usageError(`destination ${shown}: name the client's disk by its filesystem, disk:LABEL=<label> or disk:UUID=<uuid>`);
  }
  if (text.startsWith('share:')) {
    const name = text.slice(6);
    if (!SHARE_NAME.test(name)) throw usageError(`destination ${shown}: a share is named as in the daemon's config (letters, digits, '.', '_', '-'; at most 63)`);
    return { kind: 'share', name };
  }
  throw usageError(`destination ${shown} is not one of ${FORMS}`);
}

/** The operator's form of a destination (what parseDestination reads). Pure. */
export function destinationText(d: JobDestination | null | undefined): string {
  if (!d) return 'appliance';
  if (d.kind === 'share') return `share:${d.name}`;
  return 'label' in d ? `disk:LABEL=${d.label}` : `disk:UUID=${d.uuid}`;
}

/** An image's location as the appliance records it: `client-disk LABEL=…`, `share <name>`; null: the appliance. Pure. */
export function locationOf(d: JobDestination | null | undefined): string | null {
  if (!d) return null;
  if (d.kind === 'share') return `share ${d.name}`;
  return 'label' in d ? `client-disk LABEL=${d.label}` : `client-disk UUID=${d.uuid}`;
}
