// Runs Lifeboat's DHCP server (startDhcpServer) as its own process, for tests and the
// bench that run it inside a network namespace:
//   node --import tsx test/helpers/dhcp-server.ts '<json>'
// json: the DhcpServerOptions fields that are data (interface, mode, range, …), plus
//   db: a management database directory for the leases (full mode), and
//   machines: { "<mac>": { loader, fixedAddress } } for the BootDirectory.
// Prints {"listening":true} once both sockets are open, then every event as a JSON line.
// SIGTERM closes the server and the database, prints {"counts":{<event type>:n}}, exits 0.
import { startDhcpServer } from '../../src/boot/dhcp/server.js';
import type { BootMachine } from '../../src/boot/dhcp/decide.js';
import { openManagementStore } from '../../src/db/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown> & { db?: string; machines?: Record<string, BootMachine>; quiet?: boolean };
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const store = config.db ? await openManagementStore(config.db) : null;
const machines = config.machines ?? {};
const abort = new AbortController();
/** Quiet: only errors as they come, and a count of each event type at the end. */
const counts: Record<string, number> = {};
try {
  const server = await startDhcpServer({
    ...(config as unknown as Parameters<typeof startDhcpServer>[0]),
    ...(store ? { leases: store.leases } : {}),
    directory: {
      lookup: async ({ mac }) => machines[mac] ?? null,
      reserved: async () => new Set(Object.values(machines).flatMap((m) => (m.fixedAddress ? [m.fixedAddress] : []))),
    },
    onEvent: (e) => {
      counts[e.type] = (counts[e.type] ?? 0) + 1;
      if (!config.quiet || e.type === 'error') out(e);
    },
    signal: abort.signal,
  });
  out({ listening: true, server: server.server });
  process.on('SIGTERM', () => {
    abort.abort();
    void server
      .close()
      .then(() => out({ counts }))
      .then(() => store?.close())
      .then(() => process.exit(0));
  });
} catch (err) {
  out({ failed: (err as Error).message });
  await store?.close();
  process.exit(1);
}
