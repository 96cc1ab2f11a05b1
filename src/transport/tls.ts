import { createServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import { handOver } from './hand-over.js';
import type { TlsListenerConfig } from './listener-config.js';
import { peerCertificate } from './peer-certificate.js';
import { closeServer, listen, trackSockets, type RunningServer } from './server-lifecycle.js';
import type { TlsMaterial } from './tls-material.js';

/** TLS options shared by the MQTT-over-TLS and HTTPS listeners. */
export function serverTlsOptions(cfg: TlsListenerConfig, material: TlsMaterial): TlsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    minVersion: 'TLSv1.2',
    requestCert: cfg.requestClientCert,
    // The broker decides what an untrusted or missing client certificate means.
    rejectUnauthorized: false,
  };
}

/** MQTT over TLS. */
export async function startTlsListener(
  sink: ConnectionSink,
  cfg: TlsListenerConfig,
  material: TlsMaterial,
  logger: Logger,
): Promise<RunningServer> {
  const log = logger.child({ listener: 'mqtts' });
  const server = createServer(serverTlsOptions(cfg, material), (socket: TLSSocket) => {
    socket.setNoDelay(true);
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    handOver(
      sink,
      socket,
      {
        listener: 'mqtts',
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        allowAnonymous: cfg.allowAnonymous,
        peerCertificate: peerCertificate(socket),
      },
      log,
    );
  });
  // Scanners and old clients fail handshakes all day long; that is not worth more than debug.
  server.on('tlsClientError', (err, socket) => {
    log.debug({ err, remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
  });
  const tracker = trackSockets(server);
  const address = await listen(server, 'mqtts', cfg.host, cfg.port);
  server.on('error', (err) => log.error({ err }, 'listener error'));
  log.debug(address, 'MQTT over TLS listening');
  return { address, close: () => closeServer(server, tracker) };
}
