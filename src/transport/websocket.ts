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

function refuse(socket: Duplex, status: string): void {
  // Wait for the response to flush before destroying, or the client sees a reset instead of a 404.
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Serves MQTT over WebSocket at /mqtt on an HTTP(S) server; other upgrade requests get a 404. */
export function attachMqttWebSocket(server: Server, opts: MqttWebSocketOptions): WebSocketServer {
  const log = opts.logger;
  const wss = new WebSocketServer({
    noServer: true,
    // Compression costs CPU and memory per connection and buys little for small binary packets.
    perMessageDeflate: false,
    ...(opts.maxPacketSize ? { maxPayload: opts.maxPacketSize + FRAME_SLACK_BYTES } : {}),
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => log.debug({ err }, 'upgrade socket error'));
    if (pathOf(req.url) !== MQTT_WS_PATH) {
      refuse(socket, '404 Not Found');
      return;
    }
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
