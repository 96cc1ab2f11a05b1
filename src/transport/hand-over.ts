import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from '../broker/connection-info.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';

/**
 * Gives an accepted stream to the sink. The error listener is attached first so a reset that
 * arrives before (or without) the broker's own handlers never becomes an uncaught exception.
 */
export function handOver(sink: ConnectionSink, stream: Duplex, info: ConnectionInfo, logger: Logger): void {
  stream.on('error', (err) => {
    logger.debug({ err, listener: info.listener, remoteAddress: info.remoteAddress }, 'connection error');
  });
  try {
    sink.handleConnection(stream, info);
  } catch (err) {
    // One bad connection must not take the listener down with it.
    logger.error(
      { err, listener: info.listener, remoteAddress: info.remoteAddress },
      'connection handler threw',
    );
    stream.destroy();
  }
}
