// The agent API endpoint as one of the boot services: its HTTPS listener on the boot interface,
// what the plain HTTP boot server does with /agent/ requests (refuses them, unless the
// operator set boot.agentPlainHttp for a lab), the URL and fingerprint agents are given
// on their kernel command line, and its line in the appliance's status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { userError } from '../errors.js';
import { type AgentListenerEvent, AgentListener } from './agent-listener.js';
import type { BootConfig } from './config.js';
import type { TlsIdentity } from './tls-identity.js';

type Routes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
type Log = (level: 'info' | 'warning', msg: string, fields?: Record<string, unknown>) => void;

export interface AgentApi {
  /** What agents are told: the URL of the agent API and the fingerprint to pin (null: plain HTTP). */
  readonly target: { url: string; fingerprint: string | null };
  /** For the HTTP boot server's extraRoutes: the agent routes (lab) or a refusal that points to HTTPS. */
  readonly plainRoutes: Routes;
  status(): { name: string; state: 'running'; detail: string; address: string; counters: Record<string, number> };
  close(): Promise<void>;
}

const hostPart = (address: string) => (address.includes(':') ? `[${address}]` : address);

/** The first thing to read when an agent's /agent/ request reaches the plain HTTP port. */
export function plainHttpRefusal(httpsUrl: string): string {
  return `the agent API is served over HTTPS only, at ${httpsUrl} (boot parameters lifeboat.url and lifeboat.fp): boot the client again from the appliance; plain HTTP needs "agentPlainHttp": true under boot in the appliance's config (a lab setting: no TLS)`;
}

export async function startAgentApi(o: { config: BootConfig; address: string; tls: TlsIdentity; routes: Routes; log: Log }): Promise<AgentApi> {
  const { config, address, tls, routes, log } = o;
  const httpsUrl = `https://${hostPart(address)}:${config.agentPort}`;
  let listener: AgentListener;
  try {
    listener = await AgentListener.start({
      host: address,
      port: config.agentPort,
      key: tls.key,
      cert: tls.cert,
      routes,
      onEvent: (e: AgentListenerEvent) => log('warning', e.type === 'tls-refused' ? 'agent API: a client failed the TLS handshake' : 'agent API: a request failed', { ...e }),
    });
  } catch (err) {
    throw userError(`the agent API could not listen on ${address}:${config.agentPort}: ${(err as Error).message} (another service on that port? choose --agent-port)`);
  }
  const refusal = JSON.stringify({ error: plainHttpRefusal(httpsUrl) });
  const plainRoutes: Routes = config.agentPlainHttp
    ? routes
    : async (req, res) => {
        if (!(req.url ?? '').startsWith('/agent/')) return false;
        log('warning', 'agent API request over plain HTTP refused', { peer: req.socket.remoteAddress, path: (req.url ?? '').slice(0, 100) });
        // The body is not read: the connection closes after the answer.
        res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(refusal), 'Cache-Control': 'no-store', Connection: 'close' });
        res.end(refusal);
        return true;
      };
  const plainUrl = `http://${hostPart(address)}${config.httpPort === 80 ? '' : `:${config.httpPort}`}`;
  const target = config.agentPlainHttp ? { url: plainUrl, fingerprint: null } : { url: httpsUrl, fingerprint: tls.fingerprint };
  log('info', 'agent API ready', { url: httpsUrl, fingerprint: tls.display, ...(config.agentPlainHttp ? { plainHttp: plainUrl, note: 'boot.agentPlainHttp: agents are sent to plain HTTP (a lab setting)' } : {}) });
  return {
    target,
    plainRoutes,
    status: () => ({
      name: 'agent API',
      state: 'running',
      detail: `${httpsUrl}${config.agentPlainHttp ? ` and ${plainUrl} (plain HTTP: a lab setting)` : ''}, certificate SHA-256 ${tls.display}`,
      address,
      counters: { ...listener.counters },
    }),
    close: () => listener.close(),
  };
}
