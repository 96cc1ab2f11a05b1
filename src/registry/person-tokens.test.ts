import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { actorOfUser, openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import type { User } from './model.js';
import { TICKET_TTL_MS } from './mqtt-tickets.js';
import { SYSTEM_ACTOR, type LoginContext, type PasswordLogin } from './service.js';
import { totpCode, totpSecretFromBase32 } from './totp.js';

const HOUR = 3_600_000;

describe('a person’s session, API token or MQTT ticket as their MQTT password', () => {
  let t: TestRegistry;
  let clock: number;
  let n = 0;
  /** A fresh address each time, so only the identity's counter is in play. */
  const anywhere = (): LoginContext => ({ address: `203.0.113.${++n}`, via: 'ws' });
  const person = (username: string) =>
    t.registry.createUser(SYSTEM_ACTOR, {
      username,
      password: `${username} password`,
      role: 'operator',
      tenantId: 'acme',
    });
  const mqtt = (username: string, password: string, from = anywhere()) =>
    t.registry.loginPassword(username, Buffer.from(password), from);
  const outcome = (login: PasswordLogin) => (login.ok ? login.as : login.reason);
  const asPerson = (login: PasswordLogin) => {
    assert.ok(login.ok && login.as === 'person', `not a person's login: ${outcome(login)}`);
    return login;
  };
  const session = async (user: User) => (await t.registry.createSession(user, anywhere())).token;

  before(async () => {
    clock = Date.now();
    t = await openTestRegistry({
      now: () => clock,
      sessionTtlMs: HOUR,
      lockout: { maxFailures: 3, windowMs: 60_000, lockMs: 600_000 },
    });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
  });
  after(() => t.close());
  // Past any lock and window of the previous test.
  beforeEach(() => {
    clock += 1_200_000;
  });

  it('logs the person in with their session token, bound to that session, and audits how', async () => {
    const ada = await person('ada');
    const token = await session(ada);
    const login = asPerson(await mqtt('ada', token));
    assert.equal(login.user.id, ada.id);
    assert.equal(login.token?.kind, 'session');
    assert.equal(login.token?.expiresAt, clock + HOUR);
    assert.match(login.token?.tokenHash ?? '', /^[0-9a-f]{64}$/);
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.success', limit: 1 });
    assert.deepEqual(entry.details, { via: 'ws', kind: 'session' });
    assert.ok(!JSON.stringify(entry).includes(token), 'the token is not audited');
  });

  it('takes API tokens, and a password login carries no token', async () => {
    const bo = await person('bo');
    const { token } = await t.registry.createApiToken(actorOfUser(bo), { name: 'mqtt' });
    const login = asPerson(await mqtt('bo', token));
    assert.equal(login.token?.kind, 'api-token');
    assert.equal(login.token?.expiresAt, null);
    assert.equal(asPerson(await mqtt('bo', 'bo password')).token, undefined);
  });

  it('refuses a token of somebody else, and counts it toward the lockout like a wrong password', async () => {
    const cy = await person('cy');
    const other = await session(await person('cy-other'));
    // From three addresses, so that it is the person's name that gets locked, not an address.
    for (let i = 0; i < 3; i++) assert.equal(outcome(await mqtt('cy', other)), 'bad-credentials');
    assert.equal(outcome(await mqtt('cy', await session(cy))), 'locked-out');
    const rest = await t.registry.loginUser('cy', 'cy password', anywhere());
    assert.equal(rest.ok ? 'ok' : rest.reason, 'locked-out', 'the REST API shares the lock');
    const failures = await t.registry.queryAudit(SYSTEM_ACTOR, { actor: 'cy', action: 'login.failure' });
    assert.ok(failures.some((e) => e.actorType === 'user' && e.details.reason === 'bad-password'));
    const locks = await t.registry.queryAudit(SYSTEM_ACTOR, { actor: 'cy', action: 'login.locked' });
    assert.equal(locks.filter((e) => e.actorType === 'user').length, 1);
  });

  it('refuses ended, expired and revoked tokens, and those of a deactivated person', async () => {
    const di = await person('di');
    const ended = await session(di);
    await t.registry.endSession(ended);
    assert.equal(outcome(await mqtt('di', ended)), 'bad-credentials');

    const expiring = await session(di);
    clock += HOUR;
    assert.equal(outcome(await mqtt('di', expiring)), 'bad-credentials');

    const { token, record } = await t.registry.createApiToken(actorOfUser(di), { name: 'x' });
    await t.registry.revokeApiToken(actorOfUser(di), record.id);
    assert.equal(outcome(await mqtt('di', token)), 'bad-credentials');

    const live = await session(di);
    await t.registry.updateUser(SYSTEM_ACTOR, di.id, { active: false });
    assert.equal(outcome(await mqtt('di', live)), 'bad-credentials');
  });

  it('lets a person with a second factor in with a token, never with the password alone', async () => {
    const ed = await person('ed');
    const { secret } = await t.registry.enrolTotp(actorOfUser(ed));
    await t.registry.confirmTotp(actorOfUser(ed), totpCode(totpSecretFromBase32(secret), clock));
    assert.equal(outcome(await mqtt('ed', 'ed password')), 'totp-required');
    assert.equal(outcome(await mqtt('ed', await session(ed))), 'person');
  });

  describe('MQTT tickets', () => {
    let fay: User;
    let token: string;
    before(async () => {
      fay = await person('fay');
      token = await session(fay);
    });

    it('issues a one-minute ticket for the caller’s own session, audited without the ticket', async () => {
      const issued = await t.registry.issueMqttTicket(actorOfUser(fay), token);
      assert.equal(issued.username, 'fay');
      assert.match(issued.password, /^ht_/);
      assert.equal(issued.expiresAt, clock + TICKET_TTL_MS);
      const login = asPerson(await mqtt('fay', issued.password));
      assert.equal(login.token?.kind, 'session', 'bound to the session it was issued for');
      const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'mqtt-ticket.issue', limit: 1 });
      assert.equal(entry.actor, 'fay');
      assert.equal(entry.target, 'user:fay');
      assert.ok(!JSON.stringify(entry).includes(issued.password));
      const [success] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.success', limit: 1 });
      assert.equal(success.details.kind, 'mqtt-ticket');
    });

    it('is refused once expired, tampered with, under another name, or after its session ended', async () => {
      const { password: ticket } = await t.registry.issueMqttTicket(actorOfUser(fay), token);
      const last = ticket.at(-2) === 'A' ? 'B' : 'A';
      assert.equal(outcome(await mqtt('fay', ticket.slice(0, -2) + last + ticket.at(-1))), 'bad-credentials');
      assert.equal(outcome(await mqtt('fay-other', ticket)), 'bad-credentials');
      clock += TICKET_TTL_MS;
      assert.equal(outcome(await mqtt('fay', ticket)), 'bad-credentials');

      const { password: fresh } = await t.registry.issueMqttTicket(actorOfUser(fay), token);
      await t.registry.endSession(token);
      assert.equal(outcome(await mqtt('fay', fresh)), 'bad-credentials');
    });

    it('is not a bearer token for the HTTP APIs, and is issued only for the caller’s own live token', async () => {
      const gus = await person('gus');
      const own = await session(gus);
      const { password: ticket } = await t.registry.issueMqttTicket(actorOfUser(gus), own);
      assert.equal(await t.registry.resolveBearer(ticket, '198.51.100.7'), undefined);
      const unauthenticated = (err: unknown) => isHalyardError(err, 'UNAUTHENTICATED');
      await assert.rejects(t.registry.issueMqttTicket(actorOfUser(fay), own), unauthenticated);
      await assert.rejects(t.registry.issueMqttTicket(actorOfUser(gus), ticket), unauthenticated);
    });
  });

  it('announces the end of a session and the revocation of an API token (token.ended)', async () => {
    const hal = await person('hal');
    const ended: Array<{ userId: string; tokenHash: string }> = [];
    const listener = (token: { userId: string; tokenHash: string }) => ended.push(token);
    t.registry.on('token.ended', listener);
    try {
      const token = await session(hal);
      const bound = asPerson(await mqtt('hal', token));
      await t.registry.endSession(token);
      await t.registry.endSession(token); // already ended: nothing more
      const api = await t.registry.createApiToken(actorOfUser(hal), { name: 'y' });
      const boundToApi = asPerson(await mqtt('hal', api.token));
      await t.registry.revokeApiToken(actorOfUser(hal), api.record.id);
      assert.deepEqual(ended, [
        { userId: hal.id, tokenHash: bound.token?.tokenHash },
        { userId: hal.id, tokenHash: boundToApi.token?.tokenHash },
      ]);
    } finally {
      t.registry.off('token.ended', listener);
    }
  });
});
