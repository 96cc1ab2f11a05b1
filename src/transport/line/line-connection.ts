import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { WriteBatcher } from '../../broker/write-batcher.js';
import type { Logger } from '../../core/logger.js';
import type { ConnectionSink } from '../connection-sink.js';
import type { Admission } from './admission.js';
import { BrokerLink } from './broker-link.js';
import { Conversation } from './conversation.js';
import { FrameSplitter } from './frame-splitter.js';
import type { LineGate } from './gate.js';
import type { LineStats } from './stats.js';

/** Limits of one line listener (listeners.line / listeners.lines in the configuration). */
export interface LineLimits {
  maxFrameLength: number;
  idleTimeoutMs: number;
  authTimeoutMs: number;
}

export interface LineConnectionDeps {
  listener: string;
  sink: ConnectionSink;
  /** The broker's maximum packet size, for the conversation's MQTT session. */
  maxPacketSize: number;
  admission: Admission;
  gate: LineGate;
  limits: LineLimits;
  stats: LineStats;
  log: Logger;
}

/** Replies written while one input chunk is handled leave in one write (one syscall, not one per OK). */
const batcher = new WriteBatcher();

/** Output beyond this waits before the broker may send the next message (its acknowledgement is held). */
const CONGESTED_BYTES = 64 * 1024;
/** A client that stops reading is dropped once this much is waiting for it (slow-reader protection). */
const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * Socket I/O of one line-protocol connection: bytes in through the frame
 * splitter, frames to the conversation, its bytes back out; the idle timer;
 * back-pressure in both directions. The socket must be half-open capable so
 * that a client that sends its frames and ends its side still gets every reply.
 */
export function serveLineConnection(socket: Socket, deps: LineConnectionDeps): Conversation {
  const { limits, log } = deps;
  const remoteAddress = socket.remoteAddress ?? '';
  let closeTimer: NodeJS.Timeout | undefined;

  const conversation = new Conversation({
    admission: deps.admission,
    gate: deps.gate,
    listener: deps.listener,
    remoteAddress,
    authTimeoutMs: limits.authTimeoutMs,
    stats: deps.stats,
    log,
    newClientId: () => BrokerLink.clientId(),
    newNonce: () => randomBytes(16).toString('hex'),
    openLink: (identity, clientId, events) =>
      BrokerLink.open({
        sink: deps.sink,
        identity,
        clientId,
        events,
        maxPacketSize: deps.maxPacketSize,
        info: { listener: deps.listener, remoteAddress, remotePort: socket.remotePort },
      }),
    output: {
      write(bytes) {
        if (socket.destroyed || !socket.writable) return;
        batcher.hold(socket);
        socket.write(bytes);
        if (socket.writableLength > MAX_UNSENT_BYTES) {
          log.warn(
            { remoteAddress, buffered: socket.writableLength },
            'line client is not reading; dropping it',
          );
          socket.destroy();
        }
      },
      congested: () => socket.writableLength > CONGESTED_BYTES,
      setReading(on) {
        if (on) socket.resume();
        else socket.pause();
      },
      close() {
        if (closeTimer) return;
        socket.end();
        // A peer that never reads would keep the socket half-closed forever: give the bytes a moment, then cut.
        closeTimer = setTimeout(() => socket.destroy(), 1000).unref();
      },
    },
  });
  // Only whole frames count as activity: a client trickling bytes without a terminator stays idle.
  const splitter = new FrameSplitter(limits.maxFrameLength, {
    onFrame: (frame, terminator) => {
      idle.refresh();
      conversation.receive(frame, terminator);
    },
    onOverflow: () => {
      idle.refresh();
      conversation.frameTooLong(limits.maxFrameLength);
    },
  });
  const idle = setTimeout(function expire() {
    // Waiting in line is not idleness: the server is the one keeping that client waiting.
    if (conversation.current === 'waiting') idle.refresh();
    else conversation.fail('idle-timeout', `no frame within ${limits.idleTimeoutMs / 1000} s`);
  }, limits.idleTimeoutMs).unref();

  socket.on('data', (chunk: Buffer) => splitter.push(chunk));
  socket.on('drain', () => conversation.drained());
  socket.on('end', () => {
    // The client sent everything it will send: answer what is outstanding, then close.
    splitter.halt();
    conversation.endOfInput();
  });
  socket.on('error', (err) => log.debug({ err, remoteAddress }, 'line connection error'));
  socket.on('close', () => {
    clearTimeout(idle);
    clearTimeout(closeTimer);
    splitter.halt();
    conversation.connectionClosed();
  });
  conversation.start();
  return conversation;
}
