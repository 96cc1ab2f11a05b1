import type { AuthResult, Authenticator, ConnectAttempt, Identity } from '../broker/auth.js';
import type { UserConfig } from '../core/config.js';
import { DEFAULT_ACL, TopicAcl, usesSubstitution, type AclRule } from './acl.js';
import { HalyardError } from '../core/errors.js';
import { parsePasswordHash, verifyPassword } from './password.js';

/**
 * The built-in authenticator: users listed in the configuration (`users[]`),
 * each with a scrypt password hash and an optional topic ACL (see acl.ts).
 *
 * - No username: accepted only on a listener with allowAnonymous, as identity
 *   'anonymous' with the default rights (every topic not starting with `$`,
 *   plus subscribing to `$SYS/#`; never publishing to `$` topics).
 * - Unknown user or wrong password: 'bad-credentials', after the same scrypt
 *   work either way so that timing does not reveal which usernames exist.
 * - A user without `acl` gets the default rights; with `acl`, only what it allows.
 */

class AclIdentity implements Identity {
  readonly mountPoint = '';
  readonly sessionScope = '';
  constructor(
    readonly name: string,
    readonly anonymous: boolean,
    private readonly acl: TopicAcl,
  ) {}
  canPublish(topic: string): boolean {
    return this.acl.canPublish(topic);
  }
  canSubscribe(filter: string): boolean {
    return this.acl.canSubscribe(filter);
  }
}

interface UserEntry {
  passwordHash: string;
  rules: readonly AclRule[];
  /** Compiled once for the user when its rules do not depend on the client id. */
  shared?: TopicAcl;
}

export class ConfigUsersAuthenticator implements Authenticator {
  private readonly users = new Map<string, UserEntry>();
  private readonly defaultAcl = TopicAcl.compile(DEFAULT_ACL, { clientId: '' });
  /** Identities are immutable, so every anonymous client shares one (it saves memory per idle connection). */
  private readonly anonymous = new AclIdentity('anonymous', true, this.defaultAcl);

  constructor(users: readonly UserConfig[]) {
    users.forEach((user, i) => {
      // The schema checks the shape; parameters it cannot judge would otherwise lock the user out silently.
      if (!parsePasswordHash(user.passwordHash)) {
        throw new HalyardError(
          'CONFIG_INVALID',
          `Invalid configuration:\n  users.${i}.passwordHash: unusable scrypt hash (N must be a power of two ` +
            'up to 2^20, r 1..32, p 1..16, salt ≥ 8 and hash ≥ 16 bytes); create one with `halyard passwd`',
          { path: `users.${i}.passwordHash` },
        );
      }
      const rules = user.acl ?? DEFAULT_ACL;
      const shared = usesSubstitution(rules)
        ? undefined
        : user.acl === undefined
          ? this.defaultAcl
          : TopicAcl.compile(rules, { clientId: '' });
      this.users.set(user.username, { passwordHash: user.passwordHash, rules, shared });
    });
  }

  has(username: string): boolean {
    return this.users.has(username);
  }

  get size(): number {
    return this.users.size;
  }

  async authenticate(attempt: ConnectAttempt): Promise<AuthResult> {
    if (attempt.username === undefined) {
      // A password without a username (MQTT 5 allows it) cannot be checked against anybody.
      if (attempt.password !== undefined) return { ok: false, reason: 'bad-credentials' };
      if (!attempt.allowAnonymous) {
        return {
          ok: false,
          reason: 'not-authorized',
          message: 'anonymous access is disabled on this listener',
        };
      }
      return { ok: true, identity: this.anonymous };
    }
    const user = this.users.get(attempt.username);
    // Runs for unknown users and missing passwords too (against a dummy hash), for constant timing.
    const valid = await verifyPassword(attempt.password ?? Buffer.alloc(0), user?.passwordHash);
    if (!user || !valid || attempt.password === undefined) return { ok: false, reason: 'bad-credentials' };
    const acl =
      user.shared ?? TopicAcl.compile(user.rules, { username: attempt.username, clientId: attempt.clientId });
    return { ok: true, identity: new AclIdentity(attempt.username, false, acl) };
  }
}
