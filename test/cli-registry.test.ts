import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { SYSTEM_ACTOR } from '../src/registry/service.js';
import { CliSession, failed, ok, unusedPort } from './helpers/cli-session.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * `halyard tenant|user|device` as a user runs them: the real CLI in a child
 * process against the real platform's REST API, results checked in the
 * registry and with real MQTT clients (tokens, passwords, mutual TLS).
 */

let session: CliSession;
before(async () => {
  session = await CliSession.start();
});
afterEach(() => session.dropClients());
after(() => session.stop());

const halyard: CliSession['halyard'] = (args, opts) => session.halyard(args, opts);
const login = () => session.login();

describe('halyard tenant / user', () => {
  before(login);

  it('tenant add and list', async () => {
    assert.match(
      ok(await halyard(['tenant', 'add', '--id', 'acme', '--name', 'Acme Corp'])).stdout,
      /Created tenant acme/,
    );
    ok(await halyard(['tenant', 'add', '--name', 'Globex', '--max-connections', '50']));
    const tenant = await session.platform.app.registry.getTenant(SYSTEM_ACTOR, 'acme');
    assert.equal(tenant.name, 'Acme Corp');
    const table = ok(await halyard(['tenant', 'list'])).stdout;
    assert.match(table, /^ID +NAME +MAX CONNECTIONS +CREATED\n/);
    assert.match(table, /^acme +Acme Corp +default +\d{4}-\d\d-\d\dT/m);
    const list = JSON.parse(ok(await halyard(['tenant', 'list', '--json'])).stdout) as { name: string }[];
    assert.deepEqual(list.map((t) => t.name).sort(), ['Acme Corp', 'Globex']);
  });

  it('user add with the password on stdin, and with a generated one', async () => {
    ok(
      await halyard(['user', 'add', '--username', 'alice', '--role', 'operator', '--tenant', 'acme'], {
        input: 'alice-password-1\n',
      }),
    );
    const r = ok(
      await halyard([
        'user',
        'add',
        '-u',
        'bob',
        '--role',
        'viewer',
        '--tenant',
        'acme',
        '--generate-password',
      ]),
    );
    assert.match(r.stdout, /Created user bob \(viewer of tenant acme\)/);
    const generated = /shown only now.*\n {2}(\S+)\n/.exec(r.stdout)?.[1];
    assert.ok(generated, r.stdout);
    for (const [username, password] of [
      ['alice', 'alice-password-1'],
      ['bob', generated],
    ]) {
      const res = await fetch(`${session.platform.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      assert.equal(res.status, 200, username);
    }
  });

  it('user list, filtered by tenant', async () => {
    const table = ok(await halyard(['user', 'list', '--tenant', 'acme'])).stdout;
    assert.match(table, /^ID +USERNAME +TENANT +ROLE +ACTIVE +CREATED\n/);
    assert.match(table, /^u-\S+ +alice +acme +operator +yes/m);
    const root = ok(
      await halyard(['user', 'add', '-u', 'root2', '--role', 'admin', '--platform'], {
        input: 'root2-password\n',
      }),
    );
    assert.match(root.stdout, /Created user root2 \(platform admin\)/);
    const all = JSON.parse(ok(await halyard(['user', 'list', '--json'])).stdout) as { username: string }[];
    assert.deepEqual(all.map((u) => u.username).sort(), ['admin', 'alice', 'bob', 'root2']);
  });

  it('user add errors: bad role is a usage error; a too short password names the field', async () => {
    failed(
      await halyard(['user', 'add', '-u', 'x', '--role', 'root']),
      2,
      /--role must be one of admin, operator, viewer/,
    );
    failed(
      await halyard(['user', 'add', '-u', 'carol', '--role', 'viewer', '--tenant', 'acme'], {
        input: 'short\n',
      }),
      1,
      /^halyard user: body\.password: /,
    );
  });
});

describe('halyard device', () => {
  before(login);
  let d1Token = '';

  it('add --with-token prints the token once; the device connects with it', async () => {
    const r = ok(
      await halyard([
        'device',
        'add',
        '--id',
        'd1',
        '--tenant',
        'acme',
        '--name',
        'Boiler',
        '--type',
        'boiler',
        '--serial',
        'SN-1',
        '--tag',
        'heating',
        '--tag',
        'floor2',
        '--label',
        'room=kitchen',
        '--with-token',
      ]),
    );
    assert.match(r.stdout, /Created device d1 in tenant acme/);
    const token = /shown only now.*\n {2}(hd_\S+)\n/.exec(r.stdout)?.[1];
    assert.ok(token, r.stdout);
    d1Token = token;
    const device = await session.platform.app.registry.getDevice(SYSTEM_ACTOR, 'd1');
    assert.deepEqual(
      {
        name: device.name,
        type: device.type,
        serial: device.serial,
        tags: device.tags,
        labels: device.labels,
      },
      {
        name: 'Boiler',
        type: 'boiler',
        serial: 'SN-1',
        tags: ['heating', 'floor2'],
        labels: { room: 'kitchen' },
      },
    );
    const client = await session.connect({ username: token, clientId: 'd1' });
    assert.equal(client.connack.reasonCode, 0);
  });

  it('list shows a table (online included) and filters; --json gives the records', async () => {
    ok(await halyard(['device', 'add', '--id', 'd2', '--tenant', 'acme']));
    const { secret } = await session.platform.app.registry.issueCredential(SYSTEM_ACTOR, 'd1', {
      kind: 'token',
    });
    await session.connect({ username: secret, clientId: 'd1-online' });
    const table = ok(await halyard(['device', 'list'])).stdout;
    assert.match(table, /^ID +NAME +TENANT +PROFILE +ACTIVE +ONLINE +LAST SEEN\n/);
    assert.match(table, /^d1 +Boiler +acme +- +yes +yes +/m);
    assert.match(table, /^d2 +d2 +acme +- +yes +no +never$/m);
    const found = JSON.parse(ok(await halyard(['device', 'list', '--search', 'boil', '--json'])).stdout) as {
      id: string;
    }[];
    assert.deepEqual(
      found.map((d) => d.id),
      ['d1'],
    );
    assert.match(ok(await halyard(['device', 'list', '--status', 'inactive'])).stdout, /^No devices\.$/m);
    failed(
      await halyard(['device', 'list', '--status', 'off']),
      2,
      /--status must be one of active, inactive/,
    );
  });

  it('show lists the credentials without their secrets', async () => {
    const r = ok(await halyard(['device', 'show', 'd1']));
    assert.match(r.stdout, /^id: +d1$/m);
    assert.match(r.stdout, /^labels: +room=kitchen$/m);
    assert.match(r.stdout, /^Credentials:\nID +KIND +LABEL +CREATED +EXPIRES +STATUS\n/m);
    assert.match(r.stdout, / token +.* valid$/m);
    const shown = JSON.parse(ok(await halyard(['device', 'show', 'd1', '--json'])).stdout) as {
      device: { id: string };
      credentials: { kind: string; secret?: unknown }[];
    };
    assert.equal(shown.device.id, 'd1');
    assert.ok(shown.credentials.length >= 2);
    assert.ok(shown.credentials.every((c) => c.kind === 'token' && c.secret === undefined));
    assert.ok(d1Token !== '' && !(r.stdout + JSON.stringify(shown)).includes(d1Token), 'no secret shown');
  });

  it('token prints only the token on stdout and says it is shown once', async () => {
    const r = ok(await halyard(['device', 'token', 'd2']));
    assert.match(r.stdout, /^hd_[A-Za-z0-9_-]+\n$/);
    assert.match(r.stderr, /Shown only now/);
    const client = await session.connect({ username: r.stdout.trim(), clientId: 'd2' });
    assert.equal(client.connack.reasonCode, 0);
  });

  it('password and hmac credentials', async () => {
    const pw = ok(await halyard(['device', 'password', 'd2', '--username', 'd2-user']));
    const client = await session.connect({
      username: 'd2-user',
      password: pw.stdout.trim(),
      clientId: 'd2-pw',
    });
    assert.equal(client.connack.reasonCode, 0);
    const own = ok(
      await halyard(['device', 'password', 'd2', '-u', 'd2-own', '--password-stdin'], {
        input: 'my-own-password\n',
      }),
    );
    assert.match(own.stdout, /MQTT username d2-own/);
    const ownClient = await session.connect({
      username: 'd2-own',
      password: 'my-own-password',
      clientId: 'd2-own',
    });
    assert.equal(ownClient.connack.reasonCode, 0);
    const hmac = ok(await halyard(['device', 'hmac', 'd2', '--json']));
    const issued = JSON.parse(hmac.stdout) as { secret: string; credential: { kind: string } };
    assert.equal(issued.credential.kind, 'hmac');
    assert.match(issued.secret, /^[0-9a-f]{64}$/);
  });

  it('cert writes key (0600), certificate and CA; mutual TLS without a password works until deactivation', async () => {
    const out = join(tempDir('halyard-cert-'), 'certs');
    const r = ok(await halyard(['device', 'cert', 'd2', '--out', out, '--days', '30']));
    const files = { key: join(out, 'd2.key.pem'), cert: join(out, 'd2.cert.pem'), ca: join(out, 'ca.pem') };
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    const credentials = await session.platform.app.registry.listCredentials(SYSTEM_ACTOR, 'd2');
    const cert = credentials.find((c) => c.kind === 'certificate');
    assert.ok(cert);
    assert.match(r.stdout, new RegExp(`SHA-256: +${cert.lookup}\n`));
    for (const file of Object.values(files)) assert.ok(r.stdout.includes(file), `prints ${file}`);

    const url = `mqtts://127.0.0.1:${session.platform.mqttsPort}`;
    const tls: IClientOptions = {
      key: readFileSync(files.key),
      cert: readFileSync(files.cert),
      ca: readFileSync(files.ca),
      rejectUnauthorized: true,
      servername: 'localhost',
    };
    const client = await session.connect({ ...tls, clientId: 'd2-tls' }, url);
    assert.equal(client.connack.reasonCode, 0);

    assert.match(ok(await halyard(['device', 'deactivate', 'd2'])).stdout, /Device d2 deactivated/);
    assert.equal((await client.disconnectPacket).reasonCode, 0x98);
    assert.equal(await session.refusal({ ...tls, clientId: 'd2-tls' }, url), 0x87);
    assert.equal((await session.platform.app.registry.getDevice(SYSTEM_ACTOR, 'd2')).active, false);

    assert.match(ok(await halyard(['device', 'activate', 'd2'])).stdout, /Device d2 activated/);
    const back = await session.connect({ ...tls, clientId: 'd2-tls' }, url);
    assert.equal(back.connack.reasonCode, 0);

    // Existing files are not overwritten, and then nothing is issued.
    failed(await halyard(['device', 'cert', 'd2', '--out', out]), 1, /d2\.key\.pem exists already/);
    const afterwards = await session.platform.app.registry.listCredentials(SYSTEM_ACTOR, 'd2');
    assert.equal(afterwards.length, credentials.length);
  });

  it('revoke closes connections that used the credential', async () => {
    const r = ok(await halyard(['device', 'token', 'd2', '--json']));
    const issued = JSON.parse(r.stdout) as { secret: string; credential: { id: string } };
    const client = await session.connect({ username: issued.secret, clientId: 'd2-revoke' });
    assert.match(
      ok(await halyard(['device', 'revoke', 'd2', issued.credential.id])).stdout,
      /Revoked token credential/,
    );
    assert.equal((await client.disconnectPacket).reasonCode, 0x98);
  });

  it('errors: unknown device, invalid input naming the flag, usage errors', async () => {
    failed(await halyard(['device', 'show', 'nope']), 1, /^halyard device: device nope not found\n$/);
    failed(await halyard(['device', 'deactivate', 'nope']), 1, /device nope not found/);
    failed(
      await halyard(['device', 'add', '--id', 'bad id!', '--tenant', 'acme']),
      1,
      /^halyard device: body\.id: .*\(--id\)\n$/,
    );
    failed(await halyard(['device', 'add', '--label', 'novalue']), 2, /--label expects key=value/);
    failed(await halyard(['device', 'show']), 2, /missing <id>/);
    failed(await halyard(['device', 'frob']), 2, /unknown subcommand "frob"/);
    failed(await halyard(['device', 'cert', 'd1', '--days', '0']), 2, /--days must be an integer from 1/);
  });

  it('errors: an unreachable URL and a bad token', async () => {
    const closed = `http://127.0.0.1:${await unusedPort()}`;
    failed(
      await halyard(['device', 'list'], { env: { HALYARD_URL: closed, HALYARD_TOKEN: 'hu_x' } }),
      1,
      new RegExp(`^halyard device: cannot reach Halyard at ${closed}: ECONNREFUSED`),
    );
    failed(
      await halyard(['device', 'list'], { env: { HALYARD_TOKEN: 'hu_not-a-token' } }),
      1,
      /invalid, expired or revoked; check --token \/ HALYARD_TOKEN/,
    );
    failed(await halyard(['device', 'list', '--url', 'ftp://x']), 2, /--url must be an http/);
  });
});
