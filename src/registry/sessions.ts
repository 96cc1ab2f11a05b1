/**
 * Browser sessions and API tokens: opaque bearer strings whose SHA-256 the store
 * keeps (secrets.ts says why a fast hash is right for them), resolved to an Actor.
 */
import type { Logger } from '../core/logger.js';
import type { User } from './model.js';
import { generateToken, hashToken } from './secrets.js';
import type { Actor, LoginContext } from './service.js';
import type { RegistryStore } from './store.js';

/** lastUsedAt is a hint for people ("unused for a year?"), not a log: one write a minute per token is plenty. */
const TOUCH_INTERVAL_MS = 60_000;
/** Expired sessions are swept when new ones are made, at most this often. */
const SWEEP_INTERVAL_MS = 60_000;

export class SessionKeeper {
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  async create(user: User, ctx: LoginContext): Promise<{ token: string; expiresAt: number }> {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = now;
      const swept = await this.store.deleteExpiredSessions(now);
      if (swept > 0) this.logger.debug({ swept }, 'expired sessions removed');
    }
    const token = generateToken('hs_');
    const expiresAt = now + this.ttlMs;
    await this.store.createSession({
      tokenHash: hashToken(token),
      userId: user.id,
      createdAt: now,
      expiresAt,
      address: ctx.address,
    });
    return { token, expiresAt };
  }

  async resolve(token: string, address: string): Promise<Actor | undefined> {
    const now = this.now();
    if (token.startsWith('hs_')) {
      const tokenHash = hashToken(token);
      const session = await this.store.findSession(tokenHash);
      if (!session) return undefined;
      if (session.expiresAt <= now) {
        await this.store.deleteSession(tokenHash);
        return undefined;
      }
      return this.actorOf(session.userId, 'user', address);
    }
    if (token.startsWith('hu_')) {
      const record = await this.store.findApiToken(hashToken(token));
      if (!record || record.revokedAt !== null) return undefined;
      if (record.expiresAt !== null && record.expiresAt <= now) return undefined;
      const actor = await this.actorOf(record.userId, 'api-token', address);
      if (actor && (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS)) {
        await this.store.touchApiToken(record.id, now);
      }
      return actor;
    }
    return undefined;
  }

  /** The session's user, when the session existed (and now does not). */
  async end(token: string): Promise<User | undefined> {
    const tokenHash = hashToken(token);
    const session = await this.store.findSession(tokenHash);
    if (!session || !(await this.store.deleteSession(tokenHash))) return undefined;
    return this.store.getUser(session.userId);
  }

  /** Read afresh on every request, so a role change or deactivation applies at once. */
  private async actorOf(
    userId: string,
    type: 'user' | 'api-token',
    address: string,
  ): Promise<Actor | undefined> {
    const user = await this.store.getUser(userId);
    if (!user || !user.active) return undefined;
    return { type, id: user.id, name: user.username, tenantId: user.tenantId, role: user.role, address };
  }
}
