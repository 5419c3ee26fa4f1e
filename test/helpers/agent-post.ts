// The agent's own client (src/agent/appliance-client.ts) as a command, for tests that run
// it inside a network namespace: POSTs a JSON file and prints one JSON line, the answer
// ({"status", "body"}) or the error ({"error", "name"}); exit 0 either way.
// usage: agent-post.ts <url> <token> <fingerprint|-> <path> <json-file>
import { readFileSync } from 'node:fs';
import { postJson } from '../../src/agent/appliance-client.js';

const [url, token, fp, path, file] = process.argv.slice(2) as [string, string, string, string, string];
try {
  const r = await postJson({ url, token, fingerprint: fp === '-' ? null : fp }, path, JSON.parse(readFileSync(file, 'utf8')), 10_000);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message, name: (err as Error).constructor.name })}\n`);
}
