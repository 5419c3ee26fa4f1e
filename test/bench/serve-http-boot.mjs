// For the HTTP boot bench: serves <root> with Lifeboat's HTTP boot server on 127.0.0.1:<port>
// (the compiled one in dist/) until killed.
import { HttpBootServer } from '../../dist/boot/http/server.js';

const [root, port] = process.argv.slice(2);
await HttpBootServer.start({
  root,
  host: '127.0.0.1',
  port: Number(port),
  plan: async () => {
    throw new Error('the bench asks for files only');
  },
});
process.stdout.write('listening\n');
