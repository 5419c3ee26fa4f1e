import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApplianceStatus } from '../api/contract.js';
import { applianceText } from './appliance.js';

const FP = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const status = (agentApi: ApplianceStatus['agentApi']): ApplianceStatus => ({
  version: '0.9.0',
  node: 'v20.0.0',
  hostname: 'box\x1b[2J',
  uptimeSeconds: 3700,
  dataDir: '/var/lib/lifeboat',
  socket: '/run/lifeboat/api.sock',
  services: [{ name: 'agent API', state: 'running', detail: `https://10.0.0.1:8443, certificate SHA-256 ${FP}` }],
  interfaces: [{ name: 'eth1', mac: '52:54:00:00:00:01', addresses: ['10.0.0.1/24'] }],
  dhcpMode: 'off',
  store: { path: '/var/lib/lifeboat/store', fsBytes: 10 << 30, fsFreeBytes: 5 << 30, images: 2, chunks: 10, storedBytes: 1 << 20, logicalBytes: 8 << 20, reduction: 8 },
  jobs: { active: 1, running: 0 },
  ...(agentApi ? { agentApi } : {}),
});

test('lifeboat appliance shows the agent API URL and the certificate fingerprint to compare, services and store', () => {
  const text = applianceText(status({ url: 'https://10.0.0.1:8443', fingerprint: FP, plainHttp: false }));
  assert.match(text, /^box\\x1b\[2J: lifeboat 0\.9\.0, node v20\.0\.0, up 1h01m\n/, 'a hostile host name is escaped');
  assert.match(text, /\nagent API {4}https:\/\/10\.0\.0\.1:8443\n/);
  assert.match(text, new RegExp(`\\ncertificate  SHA-256 ${FP}\\n`));
  assert.match(text, /openssl s_client -connect/);
  assert.match(text, /\nagent API {2}running {2}https:\/\/10\.0\.0\.1:8443, certificate SHA-256/);
  assert.match(text, /\neth1 {7}52:54:00:00:00:01 {2}10\.0\.0\.1\/24\n/);
  assert.match(text, /2 image\(s\)/);
  assert.match(applianceText(status({ url: 'http://10.0.0.1:8080', fingerprint: FP, plainHttp: true })), /agent API {4}http:\/\/10\.0\.0\.1:8080 \(plain HTTP: the lab setting boot\.agentPlainHttp is on\)/);
  assert.match(applianceText(status({ url: null, fingerprint: FP, plainHttp: false })), /agent API {4}\(off: no boot interface\)/);
  assert.doesNotMatch(applianceText(status(undefined)), /^certificate/m, 'an older daemon without agentApi');
});
