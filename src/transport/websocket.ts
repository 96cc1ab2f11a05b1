import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import { handOver } from './hand-over.js';
import { peerCertificate } from './peer-certificate.js';

export const MQTT_WS_PATH = '/mqtt';
/** 'mqtt' is MQTT 3.1.1/5's registered subprotocol; 'mqttv3.1' is what 3.1 clients offer. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export interface MqttWebSocketOptions {
  listener: 'ws' | 'wss';
  allowAnonymous: boolean;
  sink: ConnectionSink;
  logger: Logger;
  /** Largest MQTT packet the broker accepts; bounds what one frame may buffer in memory. */
  maxPacketSize?: number;
}

/** Room for a frame that carries a maximum-size packet plus a few small ones beside it. */
const FRAME_SLACK_BYTES = 1024;

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** Answers an upgrade request with a plain HTTP response (an error) and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: string, body?: { type: string; text: string }): void {
  if (socket.destroyed) return;
  const text = body?.text ?? '';
  const type = body ? `Content-Type: ${body.type}\r\n` : '';
  // Wait for the response to flush before destroying, or the client sees a reset instead of the status.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/** Takes over one upgrade request: completes the WebSocket handshake or refuses it. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** WebSocket upgrades of one HTTP(S) server, dispatched by path; an unknown path gets a 404. */
export class UpgradeRoutes {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(server: Server, log: Logger) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', (err) => log.debug({ err }, 'upgrade socket error'));
      const handler = this.routes.get(pathOf(req.url));
      if (handler) handler(req, socket, head);
      else refuseUpgrade(socket, '404 Not Found');
    });
  }

  add(path: string, handler: UpgradeHandler): void {
    if (this.routes.has(path)) throw new Error(`a WebSocket endpoint is already served at ${path}`);
    this.routes.set(path, handler);
  }
}

/** Serves MQTT over WebSocket at /mqtt. */
export function attachMqttWebSocket(routes: UpgradeRoutes, opts: MqttWebSocketOptions): WebSocketServer {
  const log = opts.logger;
  const wss = new WebSocketServer({
    noServer: true,
    // Compression costs CPU and memory per connection and buys little for small binary packets.
    perMessageDeflate: false,
    ...(opts.maxPacketSize ? { maxPayload: opts.maxPacketSize + FRAME_SLACK_BYTES } : {}),
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  routes.add(MQTT_WS_PATH, (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const raw = req.socket;
      const stream = createWebSocketStream(ws);
      handOver(
        opts.sink,
        stream,
        {
          listener: opts.listener,
          remoteAddress: raw.remoteAddress ?? '',
          remotePort: raw.remotePort,
          allowAnonymous: opts.allowAnonymous,
          peerCertificate: raw instanceof TLSSocket ? peerCertificate(raw) : undefined,
        },
        log,
      );
    });
  });
  return wss;
}
