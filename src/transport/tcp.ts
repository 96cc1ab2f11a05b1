import { createServer, type Socket } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import { handOver } from './hand-over.js';
import type { TcpListenerConfig } from './listener-config.js';
import { closeServer, listen, trackSockets, type RunningServer } from './server-lifecycle.js';

/** Plain MQTT over TCP. */
export async function startTcpListener(
  sink: ConnectionSink,
  cfg: TcpListenerConfig,
  logger: Logger,
): Promise<RunningServer> {
  const log = logger.child({ listener: 'mqtt' });
  const server = createServer((socket: Socket) => {
    // MQTT packets are small and latency-sensitive; Nagle would hold PUBACKs back.
    socket.setNoDelay(true);
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // already gone before we could look at it
      return;
    }
    handOver(
      sink,
      socket,
      {
        listener: 'mqtt',
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        allowAnonymous: cfg.allowAnonymous,
      },
      log,
    );
  });
  const tracker = trackSockets(server);
  const address = await listen(server, 'mqtt', cfg.host, cfg.port);
  server.on('error', (err) => log.error({ err }, 'listener error'));
  log.debug(address, 'MQTT listening');
  return { address, close: () => closeServer(server, tracker) };
}
