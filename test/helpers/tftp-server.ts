// The TFTP server as a process of its own, for tests that run it inside a network
// namespace and for the benchmark (test/bench/tftp-bench.sh). Prints one JSON line per
// server event, first {"listening":true,"port":N}; SIGTERM closes it and prints its counters.
//   node --import tsx test/helpers/tftp-server.ts <root> <host> <port> [limits-json] [native|node]
// The first line also says the data path ("native" when dist/native/tftp-send.node is built).
import { TftpServer } from '../../src/boot/tftp/server.js';

const [root, host, port, limits, dataPath] = process.argv.slice(2) as [string, string, string, string | undefined, 'native' | 'node' | undefined];
const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const server = await TftpServer.start({ root, host, port: Number(port), limits: limits ? JSON.parse(limits) : {}, onEvent: line, ...(dataPath ? { dataPath } : {}) });
line({ listening: true, port: server.address.port, dataPath: server.dataPath });
process.on('SIGTERM', () => {
  void server.close().then(() => {
    line({ counters: server.counters });
    process.exit(0);
  });
});
