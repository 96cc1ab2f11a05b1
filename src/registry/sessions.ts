/**
 * Browser sessions and API tokens: opaque bearer strings whose SHA-256 the store
 * keeps (secrets.ts says why a fast hash is right for them), resolved to an Actor
 * for the HTTP APIs, or to the person and token behind them for an MQTT login
 * (where an MQTT ticket, mqtt-tickets.ts, stands for its token too).
 */
import type { Logger } from '../core/logger.js';
import type { User } from './model.js';
import { openTicket, sealTicket, TICKET_TTL_MS, type TokenKind } from './mqtt-tickets.js';
import { generateToken, hashToken } from './secrets.js';
import type { Actor, LoginContext, SignedInWith } from './service.js';
import type { RegistryStore } from './store.js';

/** lastUsedAt is a hint for people ("unused for a year?"), not a log: one write a minute per token is plenty. */
const TOUCH_INTERVAL_MS = 60_000;
/** Expired sessions are swept when new ones are made, at most this often. */
const SWEEP_INTERVAL_MS = 60_000;

/** A live token and its person: who presented it, and what its end (or expiry) must end. */
export interface TokenHolder {
  user: User;
  token: SignedInWith;
  /** What was presented: the token itself, or an MQTT ticket issued for it. */
  proof: TokenKind | 'mqtt-ticket';
}

const KIND_OF_PREFIX = new Map<string, TokenKind>([
  ['hs_', 'session'],
  ['hu_', 'api-token'],
]);

export class SessionKeeper {
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
    private readonly ttlMs: number,
    private readonly now: () => number,
    /** The server key: seals MQTT tickets. */
    private readonly secretKey: Buffer,
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

  /** The actor behind a session or API token (not a ticket: those are for MQTT only). */
  async resolve(token: string, address: string): Promise<Actor | undefined> {
    const held = await this.holder(token);
    if (!held) return undefined;
    const { user } = held;
    const type = held.token.kind === 'session' ? 'user' : 'api-token';
    return { type, id: user.id, name: user.username, tenantId: user.tenantId, role: user.role, address };
  }

  /** The person and token behind a session token, an API token or an MQTT ticket presented as an MQTT password. */
  async mqttHolder(secret: string): Promise<TokenHolder | undefined> {
    const claim = openTicket(this.secretKey, secret, this.now());
    if (!claim) return this.holder(secret);
    const held = await this.holderByHash(claim.kind, claim.tokenHash);
    return held && { ...held, proof: 'mqtt-ticket' };
  }

  /** A ticket for the session or API token `token`; undefined when that token no longer works. */
  async issueTicket(token: string): Promise<{ ticket: string; expiresAt: number; user: User } | undefined> {
    const held = await this.holder(token);
    if (!held) return undefined;
    const expiresAt = this.now() + TICKET_TTL_MS;
    const ticket = sealTicket(this.secretKey, { ...held.token, expiresAt });
    return { ticket, expiresAt, user: held.user };
  }

  /** The session's user and token hash, when the session existed (and now does not). */
  async end(token: string): Promise<{ user: User; tokenHash: string } | undefined> {
    const tokenHash = hashToken(token);
    const session = await this.store.findSession(tokenHash);
    if (!session || !(await this.store.deleteSession(tokenHash))) return undefined;
    const user = await this.store.getUser(session.userId);
    return user && { user, tokenHash };
  }

  private holder(token: string): Promise<TokenHolder | undefined> {
    const kind = KIND_OF_PREFIX.get(token.slice(0, 3));
    return kind ? this.holderByHash(kind, hashToken(token)) : Promise.resolve(undefined);
  }

  /** The user is read afresh on every call, so a role change or deactivation applies at once. */
  private async holderByHash(kind: TokenKind, tokenHash: string): Promise<TokenHolder | undefined> {
    const now = this.now();
    if (kind === 'session') {
      const session = await this.store.findSession(tokenHash);
      if (!session) return undefined;
      if (session.expiresAt <= now) {
        await this.store.deleteSession(tokenHash);
        return undefined;
      }
      const user = await this.activeUser(session.userId);
      return user && { user, token: { kind, tokenHash, expiresAt: session.expiresAt }, proof: kind };
    }
    const record = await this.store.findApiToken(tokenHash);
    if (!record || record.revokedAt !== null) return undefined;
    if (record.expiresAt !== null && record.expiresAt <= now) return undefined;
    const user = await this.activeUser(record.userId);
    if (!user) return undefined;
    if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.store.touchApiToken(record.id, now);
    }
    return { user, token: { kind, tokenHash, expiresAt: record.expiresAt }, proof: kind };
  }

  private async activeUser(userId: string): Promise<User | undefined> {
    const user = await this.store.getUser(userId);
    return user?.active ? user : undefined;
  }
}
