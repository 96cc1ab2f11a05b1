import type { Duplex } from 'node:stream';
import type { Logger } from '../core/logger.js';
import type { BrokerStore } from '../store/broker-store.js';
import type { Authenticator } from './auth.js';
import type { ConnectionInfo } from './connection-info.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from './options.js';
import { BrokerStats } from './stats.js';

export interface BrokerDeps {
  store: BrokerStore;
  authenticator: Authenticator;
  logger: Logger;
  options?: Partial<BrokerOptions>;
  /** ms since epoch; injectable for tests. */
  now?: () => number;
}

/** STUB — being implemented. */
export class Broker {
  readonly stats = new BrokerStats();
  readonly options: BrokerOptions;
  constructor(readonly deps: BrokerDeps) {
    this.options = { ...DEFAULT_BROKER_OPTIONS, ...deps.options };
  }
  /** Loads durable state; call before handing it connections. */
  async start(): Promise<void> {}
  /** Takes ownership of a byte stream that speaks MQTT (TCP socket, TLS socket, WebSocket stream). */
  handleConnection(_stream: Duplex, _info: ConnectionInfo): void {}
  /** Sends DISCONNECT 0x8B (server shutting down) to every client, closes them and flushes the store. */
  async close(): Promise<void> {}
}
