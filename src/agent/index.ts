// The agent: the client side of Lifeboat, run by /init inside the boot OS. It reads the
// boot parameters (params.ts, from the embedded file or the kernel command line), finds the
// machine (inventory.ts over /sys and /proc; smbios.ts over the raw DMI table) and talks to
// the appliance (appliance-client.ts: JSON over HTTP(S), the certificate pinned by SHA-256).
//
// Invariants:
// - Nothing is sent before the parameters validate; over https not a byte (not the token)
//   is written before the server's certificate matched the pinned fingerprint.
// - Everything read from firmware and sysfs is hostile: parsers never throw, strings are
//   printable ASCII and length-limited.
export { type AgentOptions, HELLO_PATH, type HelloBody, loadParams, runAgent } from './agent.js';
export { type Inventory, readInventory } from './inventory.js';
export { parseSmbios } from './smbios.js';
export { type SelftestReport, runSelftest, selftestLine, selftestMain } from './selftest.js';
