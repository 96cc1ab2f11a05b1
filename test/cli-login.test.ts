import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR, type Actor } from '../src/registry/service.js';
import { totpCode, totpSecretFromBase32 } from '../src/registry/totp.js';
import { CliSession, failed, ok } from './helpers/cli-session.js';

/**
 * `halyard login`/`logout` and help of the management commands: the real CLI
 * in a child process against the platform's REST API.
 */

let session: CliSession;
before(async () => {
  session = await CliSession.start();
});
afterEach(() => session.dropClients());
after(() => session.stop());

const halyard: CliSession['halyard'] = (args, opts) => session.halyard(args, opts);
const login = () => session.login();

describe('management command help', () => {
  it('each command and subcommand has help on stdout, exit 0', async () => {
    for (const [args, pattern] of [
      [['help', 'device'], /Usage: halyard device <subcommand>/],
      [['device', 'cert', '--help'], /--out <dir>/],
      [['tenant', '--help'], /Usage: halyard tenant/],
      [['user', 'add', '-h'], /--generate-password/],
      [['login', '--help'], /cli\.json/],
      [['logout', '--help'], /Usage: halyard logout/],
    ] as const) {
      const r = ok(await halyard([...args]));
      assert.match(r.stdout, pattern, args.join(' '));
    }
    failed(await halyard(['device']), 2, /Usage: halyard device/);
  });
});

describe('halyard login / logout', () => {
  it('without a login, a management command says how to sign in', async () => {
    failed(
      await halyard(['device', 'list']),
      1,
      /^halyard device: not logged in to http:\/\/127\.0\.0\.1:\d+: run "halyard login/,
    );
  });

  it('refuses a wrong password and saves nothing', async () => {
    failed(
      await halyard(['login', '-u', 'admin'], { input: 'wrong-password\n' }),
      1,
      /wrong username or password/,
    );
    assert.equal(existsSync(session.savedLoginPath), false);
  });

  it('saves the URL and an API token to a 0600 file; the token works', async () => {
    const r = ok(
      await halyard(['login', '--username', 'admin'], { input: `${session.platform.adminPassword}\n` }),
    );
    assert.match(r.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as admin \(platform admin\)/);
    assert.equal(statSync(session.savedLoginPath).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(session.savedLoginPath, 'utf8')) as { url: string; token: string };
    assert.equal(saved.url, session.platform.httpUrl);
    assert.match(saved.token, /^hu_/);
    const me = await fetch(`${session.platform.httpUrl}/api/me`, {
      headers: { authorization: `Bearer ${saved.token}` },
    });
    assert.equal(me.status, 200);
    assert.equal(r.stdout.includes(saved.token), false, 'the token is not printed');
  });

  it('logging in again revokes the token it replaces', async () => {
    const before = JSON.parse(readFileSync(session.savedLoginPath, 'utf8')) as { token: string };
    ok(
      await halyard(['login', '--username', 'admin'], {
        env: { HALYARD_PASSWORD: session.platform.adminPassword },
      }),
    );
    const old = await fetch(`${session.platform.httpUrl}/api/me`, {
      headers: { authorization: `Bearer ${before.token}` },
    });
    assert.equal(old.status, 401);
  });

  it('never sends the saved token to another URL', async () => {
    failed(
      await halyard(['device', 'list', '--url', 'http://127.0.0.1:1']),
      1,
      /not logged in to http:\/\/127\.0\.0\.1:1/,
    );
  });

  it('logout revokes the token and deletes the file; a second logout has nothing to do', async () => {
    const saved = JSON.parse(readFileSync(session.savedLoginPath, 'utf8')) as { token: string };
    const r = ok(await halyard(['logout']));
    assert.match(r.stdout, /revoked the API token/);
    assert.equal(existsSync(session.savedLoginPath), false);
    const me = await fetch(`${session.platform.httpUrl}/api/me`, {
      headers: { authorization: `Bearer ${saved.token}` },
    });
    assert.equal(me.status, 401);
    assert.match(ok(await halyard(['logout'])).stdout, /Not logged in/);
  });

  it('a saved token revoked elsewhere: commands say to log in again, logout still cleans up', async () => {
    await login();
    const registry = session.platform.app.registry;
    const admin = (await registry.listUsers(SYSTEM_ACTOR)).find((u) => u.username === 'admin');
    assert.ok(admin);
    const actor = { type: 'user', id: admin.id, name: 'admin', tenantId: null, role: 'admin' } as const;
    const live = (await registry.listApiTokens(actor)).filter((t) => t.revokedAt === null);
    assert.equal(live.length, 1, 'one live CLI token: logins replaced and logouts revoked the others');
    assert.match(live[0].name, /^cli@/);
    await registry.revokeApiToken(actor, live[0].id);
    failed(await halyard(['tenant', 'list']), 1, /halyard tenant: .*run "halyard login" again/);
    ok(await halyard(['logout']));
    assert.equal(existsSync(session.savedLoginPath), false);
  });
});

describe('halyard login with a second factor', () => {
  /** A person of the platform with a confirmed second factor; the key as their authenticator app holds it. */
  const personWithTotp = async (username: string) => {
    const registry = session.platform.app.registry;
    const user = await registry.createUser(SYSTEM_ACTOR, {
      username,
      password: `${username} password`,
      role: 'admin',
      tenantId: null,
    });
    const actor: Actor = { type: 'user', id: user.id, name: username, tenantId: null, role: 'admin' };
    const key = totpSecretFromBase32((await registry.enrolTotp(actor)).secret);
    await registry.confirmTotp(actor, totpCode(key, Date.now()));
    // The confirming code is spent: the next accepted one is of a later step (the window allows one ahead).
    return {
      env: { HALYARD_PASSWORD: `${username} password` },
      nextCode: () => totpCode(key, Date.now() + 30_000),
    };
  };

  it('without a terminal, says to pass the code; with --totp, signs in', async () => {
    const tina = await personWithTotp('tina');
    failed(
      await halyard(['login', '-u', 'tina'], { env: tina.env }),
      1,
      /second factor: .*--totp <code> or HALYARD_TOTP/,
    );
    assert.equal(existsSync(session.savedLoginPath), false);
    failed(
      await halyard(['login', '-u', 'tina', '--totp', '000000'], { env: tina.env }),
      1,
      /wrong username, password or code/,
    );
    const r = ok(await halyard(['login', '-u', 'tina', '--totp', tina.nextCode()], { env: tina.env }));
    assert.match(r.stdout, /Logged in to .* as tina \(platform admin\)/);
    ok(await halyard(['logout']));
  });

  it('takes the code from HALYARD_TOTP', async () => {
    const toni = await personWithTotp('toni');
    const r = ok(
      await halyard(['login', '-u', 'toni'], { env: { ...toni.env, HALYARD_TOTP: toni.nextCode() } }),
    );
    assert.match(r.stdout, /as toni/);
    ok(await halyard(['logout']));
  });
});
