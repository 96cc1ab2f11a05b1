import type { Server, Socket } from 'node:net';
import { HalyardError } from '../core/errors.js';
import type { ListenAddress, ListenerName } from './listener-config.js';

export interface RunningServer {
  address: ListenAddress;
  close(): Promise<void>;
}

/**
 * Remembers every raw socket a server accepted so close() can destroy stragglers:
 * net.Server#close waits for all connections, and an idle or upgraded one would hang it forever.
 * Once destroyAll() has run, late arrivals are destroyed on sight for the same reason.
 */
export function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    destroyAll() {
      closing = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

export function listenFailed(
  listener: ListenerName,
  host: string,
  port: number,
  cause: unknown,
): HalyardError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new HalyardError(
    'LISTEN_FAILED',
    `${listener} listener could not listen on ${host}:${port}: ${reason}`,
    { listener, host, port, errno: (cause as NodeJS.ErrnoException | undefined)?.code },
    { cause },
  );
}

export function boundAddress(server: Server, fallbackHost: string): ListenAddress {
  const address = server.address();
  if (address && typeof address === 'object') return { host: address.address, port: address.port };
  return { host: fallbackHost, port: 0 };
}

/** Binds `server`; a bind failure (EADDRINUSE, EACCES…) becomes LISTEN_FAILED naming the listener. */
export function listen(
  server: Server,
  listener: ListenerName,
  host: string,
  port: number,
): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(listenFailed(listener, host, port, err));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(boundAddress(server, host));
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Stops accepting, then destroys what is left so the returned promise cannot hang. */
export function closeServer(server: Server, tracker: { destroyAll(): void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      tracker.destroyAll();
      resolve();
      return;
    }
    server.close(() => resolve());
    tracker.destroyAll();
  });
}
