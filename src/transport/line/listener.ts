import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from '../../core/logger.js';
import type { ConnectionSink } from '../connection-sink.js';
import type { LineListenerConfig } from '../listener-config.js';
import { closeServer, listen, trackSockets, type RunningServer } from '../server-lifecycle.js';
import type { TlsMaterial } from '../tls-material.js';
import { Admission } from './admission.js';
import type { Conversation } from './conversation.js';
import type { LineGate } from './gate.js';
import { serveLineConnection } from './line-connection.js';
import { LineStats } from './stats.js';

export interface LineListenerDeps {
  sink: ConnectionSink;
  gate: LineGate;
  maxPacketSize: number;
  logger: Logger;
  /** Given for the TLS listener: the same certificate as MQTT over TLS. */
  tls?: TlsMaterial;
}

export interface RunningLineServer extends RunningServer {
  name: 'line' | 'lines';
  stats: LineStats;
}

/** The line protocol over TCP ("line") or TLS ("lines"); see docs/line-protocol.md. */
export async function startLineListener(
  name: 'line' | 'lines',
  cfg: LineListenerConfig,
  deps: LineListenerDeps,
): Promise<RunningLineServer> {
  const log = deps.logger.child({ listener: name });
  const admission = new Admission(cfg.maxConversations, cfg.maxWaiting);
  const stats = new LineStats(name, admission);
  const conversations = new Set<Conversation>();
  const limits = {
    maxFrameLength: cfg.maxFrameLength,
    idleTimeoutMs: cfg.idleTimeoutSeconds * 1000,
    authTimeoutMs: cfg.authTimeoutSeconds * 1000,
  };

  const onSocket = (socket: Socket): void => {
    socket.setNoDelay(true);
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // already gone before we could look at it
      return;
    }
    try {
      const conversation = serveLineConnection(socket, {
        listener: name,
        sink: deps.sink,
        maxPacketSize: deps.maxPacketSize,
        admission,
        gate: deps.gate,
        limits,
        stats,
        log,
      });
      conversations.add(conversation);
      socket.once('close', () => conversations.delete(conversation));
    } catch (err) {
      // One bad connection must not take the listener down with it.
      log.error({ err, remoteAddress: socket.remoteAddress }, 'line connection handler threw');
      socket.destroy();
    }
  };

  // Half-open: a client may send its frames and end its side, and still read every reply.
  let server: Server;
  if (deps.tls) {
    const { cert, key, ca } = deps.tls;
    server = createTlsServer({ cert, key, ca, minVersion: 'TLSv1.2', allowHalfOpen: true }, onSocket);
    server.on('tlsClientError', (err: Error, socket: Socket) =>
      log.debug({ err, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'),
    );
  } else {
    server = createServer({ allowHalfOpen: true }, onSocket);
  }
  const tracker = trackSockets(server);
  const address = await listen(server, name, cfg.host, cfg.port);
  server.on('error', (err) => log.error({ err }, 'listener error'));
  log.debug(address, 'line protocol listening');
  return {
    name,
    address,
    stats,
    close: () => {
      for (const conversation of conversations) conversation.fail('shutting-down', 'the server is stopping');
      return closeServer(server, tracker);
    },
  };
}
