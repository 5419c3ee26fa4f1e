// One-job tokens for the boot OS's agent. A token is 32 random bytes (base64url) put on the
// kernel command line of one boot; the daemon keeps only its SHA-256, with what it may do:
// one job on one machine (backup or restore), or one machine's inventory. Tokens live in
// the daemon's memory, as waiting jobs do: a daemon restart interrupts those jobs and their
// tokens with them. A token expires, and is revoked when its job ends.
import { createHash, randomBytes } from 'node:crypto';

export type TokenScope = { kind: 'job'; jobId: string; machineId: string; jobType: 'backup' | 'restore' } | { kind: 'inventory'; machineId: string };

interface Entry {
  scope: TokenScope;
  token: string;
  expiresAt: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const keyOf = (scope: TokenScope) => (scope.kind === 'job' ? `job:${scope.jobId}` : `inventory:${scope.machineId}`);

export class AgentTokens {
  private readonly byDigest = new Map<string, Entry>();
  private readonly byScope = new Map<string, string>();

  constructor(
    private readonly ttlMs = 6 * 3600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The scope's token: the one issued before while it is valid (a machine that boots twice gets the same), else a new one. */
  issue(scope: TokenScope): string {
    const key = keyOf(scope);
    const known = this.byScope.get(key);
    const entry = known ? this.byDigest.get(known) : undefined;
    if (entry && entry.expiresAt > this.now()) return entry.token;
    if (known) this.byDigest.delete(known);
    const token = randomBytes(32).toString('base64url');
    this.byDigest.set(digest(token), { scope, token, expiresAt: this.now() + this.ttlMs });
    this.byScope.set(key, digest(token));
    return token;
  }

  /** What a presented token may do, or null (unknown, expired, revoked). */
  verify(token: string): TokenScope | null {
    if (typeof token !== 'string' || token.length > 256) return null;
    const entry = this.byDigest.get(digest(token));
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.byDigest.delete(digest(token));
      this.byScope.delete(keyOf(entry.scope));
      return null;
    }
    return entry.scope;
  }

  /** A job its agent runs keeps its token: each request pushes the expiry a whole ttl out (a silent agent's job ends anyway). */
  renewJob(jobId: string): void {
    const d = this.byScope.get(`job:${jobId}`);
    const entry = d ? this.byDigest.get(d) : undefined;
    if (entry && entry.expiresAt > this.now()) entry.expiresAt = this.now() + this.ttlMs;
  }

  /** A job ended (or was cancelled): its token is refused from now on. */
  revokeJob(jobId: string): void {
    const key = `job:${jobId}`;
    const d = this.byScope.get(key);
    if (d) this.byDigest.delete(d);
    this.byScope.delete(key);
  }
}
