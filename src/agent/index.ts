// The agent: the client side of Lifeboat, run by /init inside the boot OS. It reads the
// boot parameters (params.ts, from the embedded file or the kernel command line), finds the
// machine (inventory.ts over /sys and /proc; smbios.ts over the raw DMI table), says hello
// to the appliance (appliance-client.ts) and runs the job it answers (job-run.ts): the disk
// chosen by disk-choice.ts, the same engine as `lifeboat image` with the appliance as its
// backup target (remote-target.ts) or restore source (remote-source.ts), chunks over the
// agent API from every worker thread (http-chunks.ts over agent-api.ts), progress passed on
// by progress-poster.ts, and where the job's seconds went printed at its end (stage-clock.ts).
// Its exit code tells /init to reboot, power off or wait (agent.ts).
// A backup may instead go to a destination's own store (destination-backup.ts): a disk of
// this machine (client-disk.ts) or an SMB share mounted with the kernel's cifs through busybox
// mount (share-mount.ts; the password only in a 0600 fstab file in /run, never in argv).
//
// Invariants:
// - Nothing is sent before the parameters validate; over https not a byte (not the token)
//   is written before the server's certificate matched the pinned fingerprint, on every
//   connection of every thread.
// - Everything read from firmware and sysfs, and everything the appliance answers, is
//   hostile: checked before use; parsers never throw anything but a LifeboatError.
// - A failure is reported (stage, error, advice, whether the disk was written) and left on
//   the console; the agent never asks for a reboot after one.
export { type AgentOptions, EXIT, HELLO_PATH, type HelloBody, checkHello, loadParams, runAgent } from './agent.js';
export { type Inventory, readInventory } from './inventory.js';
export { parseSmbios } from './smbios.js';
export { type SelftestReport, runSelftest, selftestLine, selftestMain } from './selftest.js';
