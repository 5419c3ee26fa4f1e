// Settings: one document. Only the fields an operator set are stored; the rest follow
// DEFAULT_SETTINGS (so a new default in a new version reaches appliances that never
// changed it). The defaults disturb nothing: DHCP off, listening on no particular interface.
import { isIPv4 } from 'node:net';
import { userError } from '../errors.js';
import type { StoreContext } from './context.js';
import { withoutUndefined } from './table.js';
import { checkKeys, checkObject, checkText, describe } from './validate.js';

export type DhcpMode = 'off' | 'proxy' | 'full';

export interface Settings {
  /** Network interface the boot services listen on (e.g. "enp3s0"); null: every interface. */
  listenInterface: string | null;
  /** off: no DHCP; proxy: PXE answers beside an existing DHCP server; full: own address range. */
  dhcpMode: DhcpMode;
  /** The range 'full' hands out; required for it. */
  dhcpRange: { start: string; end: string } | null;
  /** The image store directory. */
  storePath: string;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  listenInterface: null,
  dhcpMode: 'off',
  dhcpRange: null,
  storePath: '/var/lib/lifeboat/store',
});

export type SettingsDoc = Partial<Settings> & { _id: string };

export interface SettingsStore {
  get(): Promise<Settings>;
  /** Changes the given fields and returns all settings. */
  patch(patch: Partial<Settings>): Promise<Settings>;
}

const KEYS = ['listenInterface', 'dhcpMode', 'dhcpRange', 'storePath'] as const;
const DOC_ID = 'settings';

const ipv4Number = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

export function checkSettingsPatch(value: unknown): Partial<Settings> {
  const v = checkObject('settings', value);
  checkKeys('settings', v, KEYS);
  const out: Partial<Settings> = {};
  if (v.listenInterface !== undefined) {
    if (v.listenInterface !== null && (typeof v.listenInterface !== 'string' || !/^[A-Za-z0-9_.:-]{1,15}$/.test(v.listenInterface))) {
      throw userError(`listen interface ${describe(v.listenInterface)} is not a network interface name (like enp3s0; see \`ip link\`), or null for every interface`);
    }
    out.listenInterface = v.listenInterface;
  }
  if (v.dhcpMode !== undefined) {
    if (v.dhcpMode !== 'off' && v.dhcpMode !== 'proxy' && v.dhcpMode !== 'full') throw userError(`DHCP mode must be off, proxy or full, not ${describe(v.dhcpMode)}`);
    out.dhcpMode = v.dhcpMode;
  }
  if (v.dhcpRange !== undefined) {
    if (v.dhcpRange === null) out.dhcpRange = null;
    else {
      const r = checkObject('DHCP range', v.dhcpRange);
      checkKeys('DHCP range', r, ['start', 'end']);
      if (typeof r.start !== 'string' || !isIPv4(r.start) || typeof r.end !== 'string' || !isIPv4(r.end)) {
        throw userError(`DHCP range needs IPv4 start and end addresses like 192.168.1.100 and 192.168.1.199, not ${describe(r.start)} and ${describe(r.end)}`);
      }
      if (ipv4Number(r.start) > ipv4Number(r.end)) throw userError(`DHCP range starts at ${r.start}, after its end ${r.end}: swap them`);
      out.dhcpRange = { start: r.start, end: r.end };
    }
  }
  if (v.storePath !== undefined) {
    const path = checkText('store path', v.storePath, 4096);
    if (!path.startsWith('/')) throw userError(`store path ${JSON.stringify(path)} is not absolute: give it like /var/lib/lifeboat/store`);
    out.storePath = path;
  }
  return out;
}

export function settingsCollection(ctx: StoreContext): SettingsStore {
  const { settings } = ctx.tables;

  const stored = async (): Promise<Partial<Settings>> => {
    const doc = await settings.findOne({ _id: DOC_ID });
    if (!doc) return {};
    const { _id, ...rest } = doc;
    return rest;
  };
  const merged = (values: Partial<Settings>): Settings => ({ ...DEFAULT_SETTINGS, ...values });

  return {
    async get() {
      return merged(await stored());
    },

    async patch(patch) {
      const changes = checkSettingsPatch(patch);
      return ctx.lock.run(async () => {
        const before = await stored();
        const values = { ...before, ...changes };
        const all = merged(values);
        if (all.dhcpMode === 'full' && all.dhcpRange === null) throw userError('DHCP mode full hands out addresses: set a DHCP range too (start and end)');
        const doc: SettingsDoc = withoutUndefined({ _id: DOC_ID, ...values });
        if (await settings.findOne({ _id: DOC_ID })) await settings.replace(doc);
        else await settings.insert(doc);
        return all;
      });
    },
  };
}
