// Device safety: what a path names, decided once by device numbers and the kernel's view,
// and whether a backup may read it or a restore write it.
//
// Invariants:
// - A path is resolved once (realpath, stat) into an identity: a block device's major:minor,
//   a file's st_dev + st_ino. Every decision is made on identities, never on path strings, so
//   a symlink (/dev/disk/by-id/…), a second device node and the device itself are one.
// - "In use" is the kernel's answer: mounts by major:minor (and by source for filesystems
//   with anonymous devices), active swap, holders (device-mapper, md, LVM) recursively, loop
//   devices over a device or a file; for a restore also the kernel's own exclusive claim.
// - The parsers (kernel-view.ts) and the decisions (device-usage.ts, device-policy.ts) are
//   pure; kernel-read.ts is the only file here that touches /proc, /sys or /dev.
// - The engine opens what was checked with O_NOFOLLOW and compares its identity again.
export * from './kernel-view.js';
export * from './device-usage.js';
export * from './device-policy.js';
export * from './kernel-read.js';
