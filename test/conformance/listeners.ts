/**
 * Runs the conformance suite through the production listeners (src/transport):
 * a Broker plus startListeners with one listener enabled on an ephemeral port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after } from 'node:test';
import tls from 'node:tls';
import { createWebSocketStream, WebSocket } from 'ws';
import { Broker } from '../../src/broker/broker.js';
import { silentLogger } from '../../src/core/logger.js';
import { ConfigUsersAuthenticator } from '../../src/devices/config-users.js';
import { MemoryBrokerStore } from '../../src/store/memory-store.js';
import { startListeners, type ListenersConfig } from '../../src/transport/index.js';
import type { StartServer } from './support.js';

export type ListenerKind = 'mqtt' | 'mqtts' | 'ws' | 'wss';

const LISTENER: Record<ListenerKind, keyof ListenersConfig> = {
  mqtt: 'mqtt',
  mqtts: 'mqtts',
  ws: 'http',
  wss: 'https',
};

function listenersConfig(kind: ListenerKind): ListenersConfig {
  const base = { enabled: false, host: '127.0.0.1', port: 0, allowAnonymous: true };
  const config: ListenersConfig = {
    mqtt: { ...base },
    mqtts: { ...base, requestClientCert: false },
    http: { ...base },
    https: { ...base, requestClientCert: false },
  };
  config[LISTENER[kind]].enabled = true;
  return config;
}

/** A StartServer for one listener kind; TLS material is generated once per test file in a temp data dir. */
export function listenerTransport(kind: ListenerKind): StartServer {
  const dataDir = mkdtempSync(join(tmpdir(), 'halyard-conformance-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  return async ({ options, now }) => {
    const logger = silentLogger();
    const broker = new Broker({
      store: new MemoryBrokerStore(),
      authenticator: new ConfigUsersAuthenticator([]),
      logger,
      options: { sysInterval: 0, ...options },
      now,
    });
    await broker.start();
    const listeners = await startListeners(broker, listenersConfig(kind), { logger, dataDir });
    const address = listeners.addresses[LISTENER[kind]];
    if (!address) throw new Error(`listener ${kind} did not start`);
    const { port } = address;
    const ca = listeners.tls?.ca ?? listeners.tls?.cert;
    const tlsOptions = { ca, servername: 'localhost' };
    const url = {
      mqtt: `mqtt://127.0.0.1:${port}`,
      mqtts: `mqtts://127.0.0.1:${port}`,
      ws: `ws://127.0.0.1:${port}/mqtt`,
      wss: `wss://127.0.0.1:${port}/mqtt`,
    }[kind];
    let closed = false;
    return {
      broker,
      url,
      clientOptions: kind === 'mqtts' ? tlsOptions : kind === 'wss' ? { wsOptions: tlsOptions } : {},
      openStream: () => openStream(kind, port, tlsOptions),
      close: async () => {
        if (closed) return;
        closed = true;
        await broker.close();
        await listeners.close();
      },
    };
  };
}

function openStream(
  kind: ListenerKind,
  port: number,
  tlsOptions: { ca?: string; servername: string },
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (kind === 'mqtt') {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    } else if (kind === 'mqtts') {
      const socket = tls.connect({ host: '127.0.0.1', port, ...tlsOptions }, () => resolve(socket));
      socket.once('error', reject);
    } else {
      const scheme = kind === 'wss' ? 'wss' : 'ws';
      const ws = new WebSocket(`${scheme}://127.0.0.1:${port}/mqtt`, ['mqtt'], tlsOptions);
      ws.once('open', () => {
        const stream = createWebSocketStream(ws);
        // The stream only ends its readable side when the peer closes; the test wants to see the close itself.
        ws.once('close', () => stream.destroy());
        resolve(stream);
      });
      ws.once('error', reject);
    }
  });
}
