import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { METRICS_CONTENT_TYPE, renderMetrics, type MetricSample } from '../api/metrics.js';
import type { BrokerStats } from '../broker/stats.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import { FastLanes } from './fast-lanes.js';
import { frontLanes } from './lane-front.js';
import type { TlsListenerConfig, TcpListenerConfig } from './listener-config.js';
import { boundAddress, listenFailed, trackSockets, type RunningServer } from './server-lifecycle.js';
import { serverTlsOptions } from './tls.js';
import type { TlsMaterial } from './tls-material.js';
import { attachMqttWebSocket, UpgradeRoutes } from './websocket.js';

/** One type for HTTP and HTTPS apps, so route plugins register on either without casts. */
export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export interface HttpAppOptions {
  logger: Logger;
  stats: BrokerStats;
  /** When set, the app serves HTTPS with these TLS settings. */
  tls?: { config: TlsListenerConfig; material: TlsMaterial };
  /** Extra samples appended to /metrics (store, rules… register theirs here). */
  extraMetrics?: () => MetricSample[];
}

const appLanes = new WeakMap<HttpApp, FastLanes>();

/** The fast lanes of an app made by buildHttpApp. */
export function fastLanesOf(app: HttpApp): FastLanes | undefined {
  return appLanes.get(app);
}

/**
 * A client may send its request and then close its sending side (a shell
 * script's `nc`, some small devices' stacks). Node's default is to drop the
 * answers still pending on such a socket, so any request answered after a
 * disk sync would go unanswered; with this (long-standing, if undocumented)
 * switch Node writes them and closes the socket after the last one.
 */
function answerHalfClosed<S extends Server>(server: S): S {
  (server as S & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  return server;
}

/** Builds the Fastify app with /healthz and /metrics; add routes before it listens. */
export function buildHttpApp(opts: HttpAppOptions): HttpApp {
  const tls = opts.tls;
  const lanes = new FastLanes();
  const app = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    // Warnings and errors only: a Prometheus scrape every few seconds would otherwise drown the log,
    // and app.ts already logs each listener's address once.
    // (A quieter parent, e.g. silent in tests, stays quieter.)
    loggerInstance: opts.logger.child({}, { level: opts.logger.levelVal > 40 ? opts.logger.level : 'warn' }),
    // serverFactory keeps one FastifyInstance type for both schemes (Fastify's https typing differs)
    // and puts the fast lanes in front of Fastify's handler.
    serverFactory: (fastify, options) => {
      const handler = (req: IncomingMessage, res: ServerResponse) => {
        if (!lanes.take(req, res)) fastify(req, res);
      };
      if (tls) {
        const server = answerHalfClosed(
          createHttpsServer(serverTlsOptions(tls.config, tls.material), handler),
        );
        server.on('tlsClientError', (err) => opts.logger.debug({ err }, 'TLS handshake failed'));
        frontLanes(server, lanes);
        return server;
      }
      // What Fastify sets on an HTTP server it makes itself.
      const server = answerHalfClosed(createServer(handler));
      frontLanes(server, lanes);
      server.keepAliveTimeout = options.keepAliveTimeout as number;
      server.requestTimeout = options.requestTimeout as number;
      server.setTimeout(options.connectionTimeout as number);
      return server;
    },
  });
  appLanes.set(app, lanes);
  app.addHook('preClose', (done) => {
    lanes.close();
    done();
  });
  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/metrics', (_req, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(renderMetrics(opts.stats, opts.extraMetrics?.() ?? [])),
  );
  return app;
}

export interface HttpListenerDeps {
  logger: Logger;
  stats: BrokerStats;
  tls?: TlsMaterial;
  maxPacketSize?: number;
  /** Registers further routes/plugins (and WebSocket endpoints beside /mqtt) before the app starts listening. */
  configure?: (app: HttpApp, upgrades: UpgradeRoutes) => void | Promise<void>;
  /** Samples of other subsystems, appended to /metrics. */
  extraMetrics?: () => MetricSample[];
}

/** HTTP(S) listener: Fastify routes plus WebSocket endpoints (MQTT at /mqtt, others added by `configure`). */
export async function startHttpListener(
  name: 'http' | 'https',
  sink: ConnectionSink,
  cfg: TcpListenerConfig | TlsListenerConfig,
  deps: HttpListenerDeps,
): Promise<RunningServer & { app: HttpApp }> {
  const logger = deps.logger.child({ listener: name });
  if (name === 'https' && !deps.tls) throw new Error('https listener started without TLS material');
  const tls =
    name === 'https' && deps.tls ? { config: cfg as TlsListenerConfig, material: deps.tls } : undefined;
  const app = buildHttpApp({ logger, stats: deps.stats, tls, extraMetrics: deps.extraMetrics });
  const upgrades = new UpgradeRoutes(app.server, logger);
  attachMqttWebSocket(upgrades, {
    listener: name === 'https' ? 'wss' : 'ws',
    allowAnonymous: cfg.allowAnonymous,
    sink,
    logger,
    maxPacketSize: deps.maxPacketSize,
  });
  const tracker = trackSockets(app.server);
  try {
    await deps.configure?.(app, upgrades);
    // ready() before listen(), so a failing plugin is reported as itself and not as a bind failure.
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  try {
    await app.listen({ host: cfg.host, port: cfg.port });
  } catch (err) {
    await app.close();
    throw listenFailed(name, cfg.host, cfg.port, err);
  }
  return {
    app,
    address: boundAddress(app.server, cfg.host),
    close: async () => {
      const closing = app.close();
      tracker.destroyAll();
      await closing;
    },
  };
}
