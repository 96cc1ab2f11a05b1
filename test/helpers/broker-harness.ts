import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Authenticator } from '../../src/broker/auth.js';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { silentLogger } from '../../src/core/logger.js';
import { ConfigUsersAuthenticator } from '../../src/devices/config-users.js';
import type { BrokerStore } from '../../src/store/broker-store.js';
import { MemoryBrokerStore } from '../../src/store/memory-store.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  url: string;
  store: BrokerStore;
  /** Stops accepting, closes the broker (DISCONNECT 0x8B to everyone) and the server. */
  close(): Promise<void>;
}

/**
 * A broker core on a plain TCP port (127.0.0.1, ephemeral), with anonymous
 * access allowed unless `allowAnonymous: false`: for tests of protocol
 * behaviour that do not need the whole application.
 */
export async function startTestBroker(
  setup: {
    options?: Partial<BrokerOptions>;
    store?: BrokerStore;
    authenticator?: Authenticator;
    allowAnonymous?: boolean;
    /** Injectable clock (ms since epoch) for expiry tests. */
    now?: () => number;
  } = {},
): Promise<TestBroker> {
  const store = setup.store ?? new MemoryBrokerStore();
  const broker = new Broker({
    store,
    authenticator: setup.authenticator ?? new ConfigUsersAuthenticator([]),
    logger: silentLogger(),
    options: { sysInterval: 0, ...setup.options },
    now: setup.now,
  });
  await broker.start();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handleConnection(socket, {
      listener: 'mqtt',
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort,
      allowAnonymous: setup.allowAnonymous ?? true,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    broker,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    store,
    async close() {
      await broker.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
