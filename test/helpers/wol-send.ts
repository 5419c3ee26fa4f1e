// Sends Wake-on-LAN with src/boot/wol.ts from inside a network namespace (a test runs it):
// wol-send.ts <from> <broadcast> <port> <mac>...
import { sendWakeOnLan } from '../../src/boot/wol.js';

const [from, broadcast, port, ...macs] = process.argv.slice(2);
await sendWakeOnLan(macs, { from: from as string, broadcast: broadcast as string, port: Number(port), copies: 2 });
