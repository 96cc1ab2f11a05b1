import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startHalyard } from './app.js';
import { loadConfig, type Config } from './core/config.js';
import { isHalyardError } from './core/errors.js';
import { silentLogger } from './core/logger.js';
import { tempDir } from '../test/helpers/temp-dir.js';

function config(dataDir: string, extra: string[] = []): Config {
  return loadConfig({
    argv: ['--data-dir', dataDir, '--listeners.mqtt.host', '127.0.0.1', '--port', '0', ...extra],
    env: {
      HALYARD_LISTENERS__MQTTS__ENABLED: 'false',
      HALYARD_LISTENERS__HTTP__ENABLED: 'false',
      HALYARD_LISTENERS__HTTPS__ENABLED: 'false',
      HALYARD_LISTENERS__LINE__ENABLED: 'false',
      HALYARD_LISTENERS__LINES__ENABLED: 'false',
    },
    cwd: dataDir,
  });
}

/** Collects log records in memory. */
function memoryLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

describe('startHalyard', () => {
  it('creates the data dir and store, reports addresses, logs listeners, stops idempotently', async () => {
    const dataDir = join(tempDir('halyard-app-'), 'nested', 'data');
    const { logger, lines } = memoryLogger();
    const app = await startHalyard(config(dataDir), { logger });
    assert.ok(existsSync(join(dataDir, 'broker.db')));
    assert.equal(app.addresses.mqtt?.host, '127.0.0.1');
    assert.ok((app.addresses.mqtt?.port ?? 0) > 0);
    assert.equal(app.addresses.mqtts, undefined);
    assert.ok(lines.some((l) => l.msg === `mqtt listening on 127.0.0.1:${app.addresses.mqtt?.port}`));
    assert.ok(existsSync(join(dataDir, 'registry.db')));
    // The first start creates the platform admin; its password goes to the caller, never into the log.
    const password = app.initialAdmin?.password ?? '';
    assert.equal(app.initialAdmin?.username, 'admin');
    assert.ok(password.length >= 20);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(password)), 'the admin password was logged');
    await Promise.all([app.stop(), app.stop()]);
    await app.stop();
  });

  it('creates the platform admin only once per data dir', async () => {
    const dataDir = tempDir('halyard-app-');
    const first = await startHalyard(config(dataDir), { logger: silentLogger() });
    await first.stop();
    const second = await startHalyard(config(dataDir), { logger: silentLogger() });
    await second.stop();
    assert.ok(first.initialAdmin);
    assert.equal(second.initialAdmin, undefined);
  });

  it('releases everything when a listener cannot bind, so a retry on the same data dir works', async () => {
    const dataDir = tempDir('halyard-app-');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(
      startHalyard(config(dataDir, ['--port', String(port)]), { logger: silentLogger() }),
      (err) => isHalyardError(err, 'LISTEN_FAILED'),
    );
    blocker.close();
    const app = await startHalyard(config(dataDir), { logger: silentLogger() });
    await app.stop();
  });
});
