import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from '../broker/connection-info.js';

/** Whatever takes ownership of an accepted byte stream; the Broker satisfies it structurally. */
export interface ConnectionSink {
  handleConnection(stream: Duplex, info: ConnectionInfo): void;
}
