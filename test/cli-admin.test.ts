import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHalyard } from '../src/app.js';
import { runCli, type CliResult } from '../src/cli/cli-test-support.js';
import type { Config } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { startTestPlatform } from './helpers/platform.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * `halyard admin reset-password`: the way back in when the platform admin's
 * password is lost, working on the stopped platform's registry directly.
 */

let config: Config;
let oldPassword: string;
const home = tempDir('halyard-cli-home-');
const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home };

before(async () => {
  const platform = await startTestPlatform();
  config = platform.config;
  oldPassword = platform.adminPassword;
  await platform.stop();
});

function result(r: CliResult, code: number): CliResult {
  assert.equal(r.code, code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return r;
}

describe('halyard admin reset-password', () => {
  let app: Awaited<ReturnType<typeof startHalyard>> | undefined;
  after(async () => app?.stop());

  it('prints a new password once; after a restart it signs in and the old one does not', async () => {
    // The CLI's own HALYARD_ variables, set for the other commands, are no configuration keys.
    const withClientVars = { ...env, HALYARD_URL: 'http://127.0.0.1:1', HALYARD_TOKEN: 'hu_x' };
    const reset = await runCli(['admin', 'reset-password', '--data-dir', config.dataDir], {
      env: withClientVars,
    });
    const r = result(reset, 0);
    const password = /shown only now.*\n {2}(\S+)\n/.exec(r.stdout)?.[1];
    assert.ok(password, r.stdout);
    assert.notEqual(password, oldPassword);

    app = await startHalyard(config, { logger: silentLogger() });
    assert.equal(app.initialAdmin, undefined, 'the admin still exists: no new first-start password');
    const url = `http://127.0.0.1:${app.addresses.http?.port}`;
    const login = (input: string) => runCli(['login', '--url', url, '-u', 'admin'], { env, input });
    assert.match(result(await login(`${oldPassword}\n`), 1).stderr, /wrong username or password/);
    assert.match(result(await login(`${password}\n`), 0).stdout, /Logged in to .* as admin/);
    await app.stop();
    app = undefined;
  });

  it('--username names another platform admin; an unknown one is refused', async () => {
    const r = await runCli(['admin', 'reset-password', '--data-dir', config.dataDir, '-u', 'nobody'], {
      env,
    });
    assert.match(
      result(r, 1).stderr,
      /^halyard admin: there is no platform admin "nobody" in the registry at /,
    );
  });

  it('a data directory without a registry is an error, and none is created there', async () => {
    const empty = tempDir('halyard-empty-');
    const r = await runCli(['admin', 'reset-password', '--data-dir', empty], { env });
    assert.match(result(r, 1).stderr, /no registry at .*registry\.db: give the --data-dir/);
    assert.equal(existsSync(join(empty, 'registry.db')), false);
  });

  it('invalid configuration and unknown subcommands are usage errors (exit 2)', async () => {
    const bad = await runCli(['admin', 'reset-password', '--data-dir', config.dataDir, '--port', 'x'], {
      env,
    });
    assert.match(result(bad, 2).stderr, /listeners\.mqtt\.port/);
    assert.match(result(await runCli(['admin', 'frob'], { env }), 2).stderr, /expected reset-password/);
    assert.match(
      result(await runCli(['admin', '--help'], { env }), 0).stdout,
      /Usage: halyard admin reset-password/,
    );
  });
});
