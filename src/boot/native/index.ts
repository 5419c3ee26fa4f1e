// Native helpers of the boot services: what Node's dgram cannot do. bind-device.c (built
// by `make build` into dist/native/bind-device.node, one Node-API build for Node 20 and
// 24) ties a UDP socket to one network interface with SO_BINDTODEVICE, so a DHCP server
// on the boot interface never hears or answers another network.
//
// Invariants:
// - No fallback: when the addon is missing, a socket on a device is refused with an error
//   saying to run `make build`; a DHCP server is never started unbound.
// - The device is set before bind(): no datagram of another interface is ever queued.
//
// tftp-send.c with tftp-transfer.c (dist/native/tftp-send.node) runs the data path of one TFTP read transfer on
// a thread of its own, by the rules of tftp/transfer.ts; unlike bind-device it is optional:
// without it the TFTP server sends from Node's dgram, slower per block.
export { type BindDeviceAddon, bindDeviceAddon, udpSocketOnDevice } from './bind-device.js';
export { type TftpSendAddon, type TftpSendOptions, tftpSendAddon, tftpSendProblem } from './tftp-send.js';
