import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Broker } from './broker/broker.js';
import type { Config } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import { ConfigUsersAuthenticator } from './devices/config-users.js';
import { SqliteBrokerStore } from './store/sqlite/broker-store.js';
import { startListeners, type RunningListeners } from './transport/index.js';

/**
 * Composition root: the only place that knows every concrete part. Start-up
 * goes inward-out (store, broker, listeners); stop goes the other way so that
 * nothing is torn down while something that depends on it still runs.
 */

export interface RunningHalyard {
  broker: Broker;
  listeners: RunningListeners;
  addresses: RunningListeners['addresses'];
  /** Graceful: clients get DISCONNECT 0x8B, the store is flushed and closed. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startHalyard(config: Config, opts: { logger?: Logger } = {}): Promise<RunningHalyard> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  // First, because it can still reject the configuration and nothing has been opened yet.
  const authenticator = new ConfigUsersAuthenticator(config.users);
  await mkdir(config.dataDir, { recursive: true });
  const store = SqliteBrokerStore.open(join(config.dataDir, 'broker.db'), {
    synchronous: config.store.synchronous,
  });
  const broker = new Broker({ store, authenticator, logger, options: config.broker });

  let listeners: RunningListeners;
  try {
    await broker.start();
    listeners = await startListeners(broker, config.listeners, { logger, dataDir: config.dataDir });
  } catch (err) {
    // Whatever did start must not keep the process alive or hold the database.
    await broker.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }

  logStartup(config, listeners, logger);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      try {
        // The broker says goodbye (0x8B) and flushes first: closing the listeners destroys leftover sockets.
        await broker.close();
      } finally {
        await listeners.close();
        await store.close();
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  return { broker, listeners, addresses: listeners.addresses, stop };
}

function logStartup(config: Config, listeners: RunningListeners, logger: Logger): void {
  for (const [name, address] of Object.entries(listeners.addresses)) {
    const allowAnonymous = config.listeners[name as keyof Config['listeners']].allowAnonymous;
    logger.info(
      { listener: name, ...address, allowAnonymous },
      `${name} listening on ${address.host}:${address.port}`,
    );
  }
  const anonymousSomewhere = (['mqtt', 'mqtts', 'http', 'https'] as const).some(
    (name) => config.listeners[name].enabled && config.listeners[name].allowAnonymous,
  );
  if (config.users.length === 0 && !anonymousSomewhere) {
    logger.warn(
      'No users are configured and no listener allows anonymous clients, so nobody can connect. ' +
        'Create a password hash with `halyard passwd --username <name>` (password on stdin) and add the ' +
        'printed entry to "users" in the config file, or set HALYARD_USERS.',
    );
  }
}
