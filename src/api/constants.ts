// What every client of the operator API needs at run time without loading the schemas
// (zod costs a CLI command a noticeable part of its start): the route prefix, limits,
// header names, the default socket and small pure helpers. contract.ts re-exports all of it.
import type { ScheduleTarget } from './wire.js';

export const API_PREFIX = '/v1';
export const MAX_BODY = 1 << 20;
/** Where the daemon serves the operator API unless told otherwise (--socket, LIFEBOAT_SOCKET, the config). */
export const DEFAULT_SOCKET = '/run/lifeboat/api.sock';
/**
 * Header carrying the name a client speaks for. The daemon names a peer by its uid (see
 * peer.ts); only root may speak for another name (the schedule timer says "timer").
 */
export const OPERATOR_HEADER = 'x-lifeboat-operator';

/** What a schedule backs up, in a few words: "pc-1,pc-2", "group office", "device /dev/sdb". */
export function scheduleTargetText(target: ScheduleTarget): string {
  if ('machines' in target) return target.machines.join(',');
  if ('group' in target) return `group ${target.group}`;
  return `device${target.devices.length > 1 ? 's' : ''} ${target.devices.join(',')}`;
}
