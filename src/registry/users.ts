/** People: users, their passwords and API tokens, and the platform admin bootstrap. */
import { HalyardError, isHalyardError } from '../core/errors.js';
import { hashPassword } from '../devices/password.js';
import { notFound, type Access, type Fire, type RegistryContext } from './access.js';
import { randomId } from './ids.js';
import type { LoginGate } from './logins.js';
import type { ApiToken, Role, User } from './model.js';
import { isPlatformAdmin } from './permissions.js';
import { generatePassword, generateToken, hashToken } from './secrets.js';
import type { Actor, ApiTokenRequest, NewUser } from './service.js';
import { SYSTEM_ACTOR } from './service.js';
import type { RegistryStore } from './store.js';
import { checkInt, checkName, checkPassword, checkRole, checkUsername, invalid, LIMITS } from './validate.js';

const DAY_MS = 86_400_000;

export class UserAdmin {
  private readonly store: RegistryStore;
  private readonly now: () => number;
  private readonly access: Access;
  private readonly fire: Fire;

  constructor(
    ctx: RegistryContext,
    private readonly gate: LoginGate,
  ) {
    this.store = ctx.store;
    this.now = ctx.now;
    this.access = ctx.access;
    this.fire = ctx.fire;
  }

  async createUser(actor: Actor, input: NewUser): Promise<User> {
    let tenantId: string | null;
    if (input.tenantId === null) {
      if (!isPlatformAdmin(actor)) {
        await this.access.refuse(
          actor,
          'user.create',
          null,
          actor.tenantId,
          'only platform admins create platform admins',
        );
      }
      tenantId = null;
    } else {
      tenantId = await this.access.targetTenant(actor, input.tenantId);
      await this.access.allow(actor, 'user.manage', tenantId, 'user.create', null);
    }
    const username = checkUsername('username', input.username);
    const role = checkRole('role', input.role);
    if (tenantId === null && role !== 'admin')
      throw invalid('role', 'users without a tenant are platform admins');
    const password = checkPassword('password', input.password);
    const now = this.now();
    const user: User = {
      id: randomId('u-'),
      username,
      tenantId,
      role,
      passwordHash: await hashPassword(password),
      active: true,
      totpEnabled: false,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createUser(user);
    await this.access.record(actor, 'user.create', `user:${username}`, tenantId, { userId: user.id, role });
    return user;
  }

  async listUsers(actor: Actor, filter: { tenantId?: string } = {}): Promise<User[]> {
    const tenantId = await this.access.listScope(actor, 'user.read', 'user.list', filter.tenantId);
    if (tenantId === false) return [];
    return this.store.listUsers(tenantId === undefined ? undefined : { tenantId });
  }

  getUser(actor: Actor, id: string): Promise<User> {
    return this.access.loadUser(actor, id, 'user.read', 'user.read');
  }

  async updateUser(actor: Actor, id: string, patch: { role?: Role; active?: boolean }): Promise<User> {
    const user = await this.access.loadUser(actor, id, 'user.manage', 'user.update');
    const changes: { role?: Role; active?: boolean } = {};
    if (patch.role !== undefined && patch.role !== user.role) changes.role = checkRole('role', patch.role);
    if (patch.active !== undefined && patch.active !== user.active) {
      if (typeof patch.active !== 'boolean') throw invalid('active', 'must be true or false');
      changes.active = patch.active;
    }
    if (Object.keys(changes).length === 0) return user;
    if (user.tenantId === null && changes.role !== undefined) {
      throw invalid('role', 'users without a tenant are platform admins');
    }
    if (actor.id === user.id) {
      await this.access.refuse(
        actor,
        'user.update',
        `user:${user.username}`,
        user.tenantId,
        'own role or state',
      );
    }
    if (changes.active === false) await this.keepOnePlatformAdmin(user);
    const updated = await this.store.updateUser(id, { ...changes, updatedAt: this.now() });
    if (!updated) throw notFound('user', id);
    if (changes.active === false) await this.store.deleteUserSessions(id);
    await this.access.record(actor, 'user.update', `user:${user.username}`, user.tenantId, {
      fields: Object.keys(changes),
      ...changes,
    });
    this.fire('user.changed', updated);
    return updated;
  }

  async setPassword(actor: Actor, userId: string, password: string, currentPassword?: string): Promise<void> {
    const self = actor.type !== 'system' && actor.id === userId;
    const user = self
      ? await this.store.getUser(userId)
      : await this.access.loadUser(actor, userId, 'user.manage', 'user.password.set');
    if (!user) throw notFound('user', userId);
    const newPassword = checkPassword('password', password);
    if (self) {
      if (typeof currentPassword !== 'string')
        throw invalid('currentPassword', 'is required to change your own password');
      await this.gate.confirmPassword(user, currentPassword, actor.address ?? 'unknown');
    }
    await this.store.updateUser(userId, {
      passwordHash: await hashPassword(newPassword),
      updatedAt: this.now(),
    });
    // Whoever knew the old password may hold a session: all of them end (the caller logs in anew).
    await this.store.deleteUserSessions(userId);
    await this.access.record(actor, 'user.password.set', `user:${user.username}`, user.tenantId, { self });
    const updated = await this.store.getUser(userId);
    if (updated) this.fire('user.changed', updated);
  }

  async deleteUser(actor: Actor, id: string): Promise<void> {
    const user = await this.access.loadUser(actor, id, 'user.manage', 'user.delete');
    if (actor.id === user.id) {
      await this.access.refuse(actor, 'user.delete', `user:${user.username}`, user.tenantId, 'own account');
    }
    await this.keepOnePlatformAdmin(user);
    if (!(await this.store.deleteUser(id))) throw notFound('user', id);
    await this.access.record(actor, 'user.delete', `user:${user.username}`, user.tenantId, { userId: id });
    this.fire('user.deleted', user);
  }

  async createApiToken(actor: Actor, request: ApiTokenRequest): Promise<{ token: string; record: ApiToken }> {
    const user = await this.actingUser(actor, 'api-token.create');
    const name = checkName('name', request.name);
    const days =
      request.expiresInDays === undefined
        ? undefined
        : checkInt('expiresInDays', request.expiresInDays, 1, LIMITS.apiTokenDaysMax);
    const now = this.now();
    const token = generateToken('hu_');
    const record: ApiToken = {
      id: randomId('at-'),
      userId: user.id,
      name,
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: days === undefined ? null : now + days * DAY_MS,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.store.createApiToken(record);
    await this.access.record(actor, 'api-token.create', `api-token:${record.id}`, user.tenantId, {
      tokenId: record.id,
      name,
      expiresAt: record.expiresAt,
    });
    return { token, record };
  }

  async listApiTokens(actor: Actor): Promise<ApiToken[]> {
    const user = await this.actingUser(actor, 'api-token.list');
    return this.store.listApiTokens(user.id);
  }

  async revokeApiToken(actor: Actor, id: string): Promise<void> {
    const user = await this.actingUser(actor, 'api-token.revoke');
    // Only one's own tokens: another user's token id is "not found", whoever asks.
    const token = (await this.store.listApiTokens(user.id)).find((t) => t.id === id);
    if (!token) throw notFound('API token', id);
    if (token.revokedAt !== null) return;
    await this.store.revokeApiToken(id, this.now());
    await this.access.record(actor, 'api-token.revoke', `api-token:${id}`, user.tenantId, {
      tokenId: id,
      name: token.name,
    });
    this.fire('token.ended', { userId: user.id, tokenHash: token.tokenHash });
  }

  async ensurePlatformAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.store.listUsers()).length > 0) return undefined;
    const username = 'admin';
    const password = generatePassword();
    const now = this.now();
    const user: User = {
      id: randomId('u-'),
      username,
      tenantId: null,
      role: 'admin',
      passwordHash: await hashPassword(password),
      active: true,
      totpEnabled: false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.createUser(user);
    } catch (err) {
      if (isHalyardError(err, 'CONFLICT')) return undefined; // another node was first
      throw err;
    }
    await this.access.record(SYSTEM_ACTOR, 'user.create', `user:${username}`, null, {
      userId: user.id,
      role: 'admin',
      reason: 'first start',
    });
    return { username, password };
  }

  async resetAdminPassword(username = 'admin'): Promise<{ username: string; password: string }> {
    const user = await this.store.getUserByUsername(username);
    if (!user || user.tenantId !== null || user.role !== 'admin') throw notFound('user', username);
    const password = generatePassword();
    // A reset is a recovery: the account is active again, any lock on it is lifted, and
    // a second factor whose phone may be lost is removed (the admin can enrol again).
    const totpRemoved = await this.store.clearUserTotp(user.id);
    const updated = await this.store.updateUser(user.id, {
      passwordHash: await hashPassword(password),
      active: true,
      updatedAt: this.now(),
    });
    if (!updated) throw notFound('user', username);
    await this.store.deleteUserSessions(user.id);
    this.gate.clearUser(username);
    await this.access.record(SYSTEM_ACTOR, 'user.password.reset', `user:${username}`, null, {
      userId: user.id,
      totpRemoved,
    });
    this.fire('user.changed', updated);
    return { username, password };
  }

  /** API tokens belong to a person: the system actor has none. */
  private actingUser(actor: Actor, action: string): Promise<User> {
    return this.access.actingUser(actor, action, 'API tokens');
  }

  /** The platform must keep one active platform admin, or nobody could manage tenants. */
  private async keepOnePlatformAdmin(user: User): Promise<void> {
    if (user.tenantId !== null || !user.active) return;
    const others = (await this.store.listUsers({ tenantId: null })).filter(
      (u) => u.id !== user.id && u.active && u.role === 'admin',
    );
    if (others.length === 0) {
      throw new HalyardError('CONFLICT', 'the last active platform admin cannot be removed or deactivated', {
        id: user.id,
      });
    }
  }
}
