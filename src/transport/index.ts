import type { MetricSample } from '../api/metrics.js';
import type { BrokerStats } from '../broker/stats.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import { startHttpListener, type HttpApp } from './http.js';
import { startLineListeners, type LineGate } from './line/index.js';
import type {
  LineListenersConfig,
  ListenAddress,
  ListenerName,
  ListenersConfig,
  TlsListenerConfig,
} from './listener-config.js';
import type { RunningServer } from './server-lifecycle.js';
import { startTcpListener } from './tcp.js';
import { startTlsListener } from './tls.js';
import { ensureTlsMaterial, type TlsMaterial } from './tls-material.js';
import type { UpgradeRoutes } from './websocket.js';

export type { ConnectionSink } from './connection-sink.js';
export type { HttpApp } from './http.js';
export type * from './line/index.js';
export type { UpgradeHandler, UpgradeRoutes } from './websocket.js';
export type * from './listener-config.js';
export type { TlsMaterial } from './tls-material.js';
export { ensureLocalCa, ensureTlsMaterial, loadLocalCa } from './tls-material.js';
export {
  issueCertificate,
  type CertificateAuthority,
  type IssueOptions,
  type IssuedCertificate,
} from './pki.js';

export interface RunningListeners {
  addresses: Partial<Record<ListenerName, ListenAddress>>;
  /** TLS material in use (mqtts's, else https's), e.g. to show users the CA path. */
  tls?: TlsMaterial;
  http?: HttpApp;
  https?: HttpApp;
  /** Stops accepting and destroys leftover sockets; run the broker's shutdown first. */
  close(): Promise<void>;
}

/** What the listeners need from the broker; the Broker class satisfies it structurally. */
export type ListenerSink = ConnectionSink & { stats: BrokerStats; options?: { maxPacketSize?: number } };

export interface ListenerDeps {
  logger: Logger;
  dataDir: string;
  /** Registers REST routes and WebSocket endpoints on each HTTP(S) app before it listens. */
  configureHttp?: (app: HttpApp, listener: 'http' | 'https', upgrades: UpgradeRoutes) => void | Promise<void>;
  /** Samples of other subsystems (telemetry, presence), appended to /metrics. */
  extraMetrics?: () => MetricSample[];
  /** Logs line-protocol devices in (the device registry); needed when a line listener is enabled. */
  lineGate?: LineGate;
}

/** Loads TLS material once per distinct file configuration (mqtts and https usually share it). */
function tlsLoader(deps: ListenerDeps): (cfg: TlsListenerConfig) => Promise<TlsMaterial> {
  const cache = new Map<string, Promise<TlsMaterial>>();
  return (cfg) => {
    const key = JSON.stringify([cfg.certFile, cfg.keyFile, cfg.caFile]);
    let material = cache.get(key);
    if (!material) {
      material = ensureTlsMaterial(deps.dataDir, cfg, deps.logger);
      cache.set(key, material);
    }
    return material;
  };
}

/** Starts every enabled listener; if one fails, those already started are closed again. */
export async function startListeners(
  sink: ListenerSink,
  config: ListenersConfig & LineListenersConfig,
  deps: ListenerDeps,
): Promise<RunningListeners> {
  const servers: RunningServer[] = [];
  const closeAll = async () => {
    await Promise.allSettled(servers.map((s) => s.close()));
  };
  const tlsFor = tlsLoader(deps);
  const running: RunningListeners = { addresses: {}, close: closeAll };
  const { logger } = deps;
  try {
    if (config.mqtt.enabled) {
      const server = await startTcpListener(sink, config.mqtt, logger);
      servers.push(server);
      running.addresses.mqtt = server.address;
    }
    if (config.mqtts.enabled) {
      const material = await tlsFor(config.mqtts);
      const server = await startTlsListener(sink, config.mqtts, material, logger);
      servers.push(server);
      running.addresses.mqtts = server.address;
      running.tls = material;
    }
    const line = await startLineListeners(
      sink,
      config,
      { gate: deps.lineGate, logger, mqttsMaterial: () => tlsFor(config.mqtts) },
      servers,
    );
    for (const server of line.servers) running.addresses[server.name] = server.address;
    const extraMetrics = () => [...(deps.extraMetrics?.() ?? []), ...line.samples()];
    for (const name of ['http', 'https'] as const) {
      const cfg = config[name];
      if (!cfg.enabled) continue;
      const material = name === 'https' ? await tlsFor(config.https) : undefined;
      const server = await startHttpListener(name, sink, cfg, {
        logger,
        stats: sink.stats,
        tls: material,
        maxPacketSize: sink.options?.maxPacketSize,
        configure: deps.configureHttp && ((app, upgrades) => deps.configureHttp?.(app, name, upgrades)),
        extraMetrics,
      });
      servers.push(server);
      running.addresses[name] = server.address;
      running[name] = server.app;
      running.tls ??= material;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return running;
}
