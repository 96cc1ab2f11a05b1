import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { registerRegistryApi } from './api/registry-api.js';
import { gauge } from './api/metrics.js';
import { telemetryApi } from './api/telemetry-api.js';
import type { ConnectionObserver } from './broker/auth.js';
import { Broker } from './broker/broker.js';
import { combineHooks } from './broker/publish-hook.js';
import { tenantMountPoint } from './devices/namespaces.js';
import { RC } from './broker/reason-codes.js';
import { Channels } from './thingspeak/channels.js';
import { withDeviceChannels } from './thingspeak/device-telemetry.js';
import { ChannelFeeds } from './thingspeak/mqtt-feeds.js';
import { registerThingSpeakApi } from './thingspeak/http/api.js';
import { thingSpeakPublishHook } from './thingspeak/mqtt.js';
import { openChannelStore } from './thingspeak/open-store.js';
import type { ChannelStore } from './thingspeak/store.js';
import type { Config } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import { ConfigUsersAuthenticator } from './devices/config-users.js';
import { ConnectionLedger } from './devices/connection-ledger.js';
import { registryLineGate } from './devices/line-gate.js';
import { PresenceTracker } from './devices/presence.js';
import { RegistryAuthenticator } from './devices/registry-authenticator.js';
import { bridgeRegistryToBroker, markStaleStatusesOffline } from './devices/registry-bridge.js';
import { openRegistry } from './registry/open-store.js';
import type { Registry } from './registry/registry.js';
import { SqliteBrokerStore } from './store/sqlite/broker-store.js';
import { TelemetryIngest } from './telemetry/ingest.js';
import { telemetryPublishHook, type TelemetryHookStats } from './telemetry/mqtt-ingest.js';
import { telemetrySamples } from './telemetry/metrics.js';
import { openTelemetryStore } from './telemetry/open-store.js';
import { RetentionJob } from './telemetry/retention.js';
import type { TelemetryStore } from './telemetry/store.js';
import { startListeners, type RunningListeners } from './transport/index.js';
import { LIVE_PATH } from './web/live-protocol.js';
import { LiveSockets } from './web/live-socket.js';
import { registerDashboard } from './web/static.js';

/**
 * Composition root: the only place that knows every concrete part. Start-up
 * goes inward-out (store, broker, listeners); stop goes the other way so that
 * nothing is torn down while something that depends on it still runs.
 */

export interface RunningHalyard {
  broker: Broker;
  registry: Registry;
  presence: PresenceTracker;
  telemetry: { store: TelemetryStore; ingest: TelemetryIngest; mqtt: TelemetryHookStats };
  thingspeak: { channels: Channels };
  listeners: RunningListeners;
  addresses: RunningListeners['addresses'];
  /** Set on the very first start only: the platform admin's generated password, to be shown once. */
  initialAdmin?: { username: string; password: string };
  /** Graceful: clients get DISCONNECT 0x8B, the stores are flushed and closed. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartHalyardOptions {
  logger?: Logger;
  /** The built dashboard (index.html, assets/); default dist/web of this package. */
  webRoot?: string;
}

export async function startHalyard(config: Config, opts: StartHalyardOptions = {}): Promise<RunningHalyard> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  // First, because it can still reject the configuration and nothing has been opened yet.
  const configUsers = new ConfigUsersAuthenticator(config.users);
  await mkdir(config.dataDir, { recursive: true });
  const {
    registry,
    store: registryStore,
    secretKey,
  } = await openRegistry(config, logger.child({ component: 'registry' }));
  let initialAdmin: RunningHalyard['initialAdmin'];
  try {
    initialAdmin = await registry.ensurePlatformAdmin();
  } catch (err) {
    await registryStore.close();
    throw err;
  }

  const ledger = new ConnectionLedger();
  const presence = new PresenceTracker();
  const observer: ConnectionObserver = {
    clientConnected: (client) => {
      ledger.clientConnected(client);
      presence.clientConnected(client);
    },
    clientDisconnected: (client, cause) => {
      ledger.clientDisconnected(client);
      presence.clientDisconnected(client, cause);
      channelFeeds.connectionEnded(client.identity);
    },
    subscribed: (client, filter) => channelFeeds.subscribed(client.identity, filter),
  };
  const authenticator = new RegistryAuthenticator({
    registry,
    configUsers,
    security: config.security,
    ledger,
    logger: logger.child({ component: 'auth' }),
  });
  let telemetryStore: TelemetryStore;
  try {
    telemetryStore = await openTelemetryStore(
      config.database.url,
      config.dataDir,
      logger.child({ component: 'telemetry-store' }),
    );
  } catch (err) {
    await registryStore.close();
    throw err;
  }
  const ingest = new TelemetryIngest({
    store: telemetryStore,
    logger: logger.child({ component: 'telemetry' }),
    maxPendingPoints: config.telemetry.maxPendingPoints,
    maxBatchPoints: config.telemetry.maxBatchPoints,
  });
  const retention = new RetentionJob({
    registry,
    store: telemetryStore,
    logger: logger.child({ component: 'retention' }),
    intervalMs: config.telemetry.retentionIntervalSeconds * 1000,
  });
  const maxSkewMs = config.telemetry.maxSkewSeconds * 1000;
  let channelStore: ChannelStore;
  try {
    channelStore = await openChannelStore(
      config.database.url,
      config.dataDir,
      logger.child({ component: 'thingspeak-store' }),
    );
  } catch (err) {
    await telemetryStore.close();
    await registryStore.close();
    throw err;
  }
  // The broker does not exist yet: channel updates reach MQTT subscribers through this late binding.
  let publishToTenant: (topic: string, payload: Buffer, tenantId: string) => void = () => undefined;
  const channels = new Channels({
    store: channelStore,
    registry,
    telemetry: telemetryStore,
    // The mirror writes its batches at once (docs/thingspeak.md), not through the ingest's queue;
    // live views hear of the points as of any other accepted telemetry.
    writePoints: (points) => ingest.writeNow(points),
    mirrorDelayMs: config.telemetry.channelMirrorDelayMs,
    secretKey,
    notify: (channel, entry) => channelFeeds.entryAdded(channel, entry),
    logger: logger.child({ component: 'thingspeak' }),
  });
  const channelFeeds = new ChannelFeeds({
    channels,
    publish: (topic, payload, tenantId) => publishToTenant(topic, payload, tenantId),
    disconnect: (identity, message) =>
      broker.disconnectWhere((connected) => connected === identity, RC.NOT_AUTHORIZED, message),
    logger: logger.child({ component: 'thingspeak' }),
  });
  // Native telemetry of a device bound to a channel becomes channel entries too (docs/thingspeak.md).
  const deviceIngest = withDeviceChannels(ingest, channels, logger.child({ component: 'thingspeak' }));
  const publishHook = telemetryPublishHook({ ingest: deviceIngest, maxSkewMs });
  const thingSpeakHook = thingSpeakPublishHook({
    channels,
    logger: logger.child({ component: 'thingspeak' }),
  });
  const store = SqliteBrokerStore.open(join(config.dataDir, 'broker.db'), {
    synchronous: config.store.synchronous,
  });
  const broker = new Broker({
    store,
    authenticator,
    observer,
    publishHook: combineHooks(publishHook, thingSpeakHook),
    logger,
    options: config.broker,
  });
  publishToTenant = (topic, payload, tenantId) =>
    broker.publish({ topic: tenantMountPoint(tenantId) + topic, payload, qos: 0, retain: false, origin: '' });
  const bridge = bridgeRegistryToBroker({ registry, broker, presence, logger });
  const live = new LiveSockets({
    registry,
    ingest,
    presence,
    broker,
    ledger,
    logger: logger.child({ component: 'live' }),
  });

  let listeners: RunningListeners;
  try {
    await channels.loadBindings();
    await channels.recoverMirror();
    await broker.start();
    const stale = markStaleStatusesOffline(broker);
    if (stale > 0)
      logger.info({ devices: stale }, 'devices still marked online from the last run are now offline');
    listeners = await startListeners(broker, config.listeners, {
      logger,
      dataDir: config.dataDir,
      lineGate: registryLineGate(authenticator, registry),
      extraMetrics: () => [
        ...telemetrySamples(ingest, publishHook.stats),
        gauge('halyard_devices_online', 'Devices with at least one live connection.', presence.onlineCount()),
        ...live.samples(),
      ],
      configureHttp: async (app, listener, upgrades) => {
        await registerThingSpeakApi(app, { channels, registry });
        await registerRegistryApi(app, {
          registry,
          presence,
          secureCookies: listener === 'https',
          extensions: [telemetryApi({ registry, ingest: deviceIngest, store: telemetryStore, maxSkewMs })],
        });
        upgrades.add(LIVE_PATH, live.handleUpgrade);
        await registerDashboard(app, { root: opts.webRoot });
      },
    });
  } catch (err) {
    // Whatever did start must not keep the process alive or hold the databases.
    await broker.close().catch(() => undefined);
    await bridge.close().catch(() => undefined);
    await ingest.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await telemetryStore.close().catch(() => undefined);
    await channelStore.close().catch(() => undefined);
    await registryStore.close().catch(() => undefined);
    throw err;
  }

  logStartup(config, listeners, logger);
  retention.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      try {
        // The broker says goodbye (0x8B) and flushes first: closing the listeners destroys leftover sockets.
        await broker.close();
      } finally {
        await bridge.close();
        live.close();
        await listeners.close();
        await retention.stop();
        await channels.close();
        await ingest.close();
        await store.close();
        await telemetryStore.close();
        await channelStore.close();
        await registryStore.close();
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  return {
    broker,
    registry,
    presence,
    telemetry: { store: telemetryStore, ingest, mqtt: publishHook.stats },
    thingspeak: { channels },
    listeners,
    addresses: listeners.addresses,
    initialAdmin,
    stop,
  };
}

function logStartup(config: Config, listeners: RunningListeners, logger: Logger): void {
  for (const [name, address] of Object.entries(listeners.addresses)) {
    const listener = config.listeners[name as keyof Config['listeners']];
    const allowAnonymous = 'allowAnonymous' in listener && listener.allowAnonymous;
    logger.info(
      { listener: name, ...address, allowAnonymous },
      `${name} listening on ${address.host}:${address.port}`,
    );
  }
}
