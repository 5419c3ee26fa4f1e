// The boot OS: what a client computer boots into. One image per kernel set — Debian's
// signed kernel and modules, unchanged, so it boots under Secure Boot (kernels/) — plus an
// initramfs Lifeboat writes itself (cpio.ts, initramfs.ts: busybox, Node 24 with its
// libraries, the agent bundle, /init from init.sh), and per machine and job the boot
// parameters (params.ts): on the kernel command line for network boot, or appended to the
// initramfs for boot media. build.ts writes <data-dir>/boot/lifeboat/ for the boot services;
// boot-media.ts writes the hybrid ISO, medium-device.ts puts it onto a whole USB disk.
//
// Invariants:
// - Deterministic: the same inputs give the same initrd.img bytes (sorted entries, fixed
//   header fields, fixed compressor level on one thread).
// - Nothing Debian signed is modified; the kernel set is checked against its manifest's
//   SHA-256s and its modules.dep closure before every build.
// - Parameter decoding is total: any text yields parameters or a 'boot parameters: …' user
//   error naming what is wrong and what to do.
// - A medium goes onto a whole disk only: never the appliance's own, never one in use,
//   never without a confirmation naming what is lost; it is read back after writing.
export { type BootOsBuildOptions, type BootOsReport, buildBootOs } from './build.js';
export { type CpioEntry, decodeCpio, encodeCpio } from './cpio.js';
export { type Compression, DEFAULT_COMPRESSION, buildInitramfs, paramsArchive, withParams } from './initramfs.js';
export { type KernelSet, loadKernelSet, missingModules } from './kernel-set.js';
export { type BootParams, DEFAULT_CONSOLES, decodeParams, encodeParams, encodeParamsFile, kernelCommandLine } from './params.js';
