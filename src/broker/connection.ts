import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as mqtt from 'mqtt-packet';
import type { Logger } from '../core/logger.js';
import type { ClientView, DisconnectCause, Identity } from './auth.js';
import type { Broker } from './broker.js';
import type { ConnectionInfo } from './connection-info.js';
import { encodePublish, type OutboundDelivery } from './encode.js';
import type { Message } from './message.js';
import { PacketReader, type PacketReaderEvents } from './packet-reader.js';
import { encodePlainAck } from './publish-codec.js';
import { CONNACK_V3, RC, connackCodeV3 } from './reason-codes.js';
import type { Session } from './session.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe-flow.js';
import { handlePublish, handlePubrel } from './publish-flow.js';
import { acceptConnect, type WillSpec } from './connect-flow.js';

/** An acknowledgement with reason Success and no properties: encoded by hand (see publish-codec.ts). */
function isPlainAck(
  packet: mqtt.Packet,
): packet is mqtt.IPubackPacket | mqtt.IPubrecPacket | mqtt.IPubrelPacket | mqtt.IPubcompPacket {
  return (
    (packet.cmd === 'puback' ||
      packet.cmd === 'pubrec' ||
      packet.cmd === 'pubrel' ||
      packet.cmd === 'pubcomp') &&
    !packet.reasonCode &&
    packet.properties === undefined
  );
}

/** An acknowledgement in line; `packet` undefined once ready means "nothing to send" (a closed 3.1.1 flow). */
interface AckSlot {
  packet: mqtt.Packet | undefined;
  ready: boolean;
}

type State = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/**
 * One client's network connection: parses bytes into packets, enforces the
 * protocol's order and limits, and writes packets back. What a packet means for
 * the rest of the broker lives in the *-flow.ts modules and broker.ts.
 */
export class MqttConnection implements PacketReaderEvents {
  state: State = 'awaiting-connect';
  protocolVersion: 3 | 4 | 5 = 4;
  clientId = '';
  identity: Identity | undefined;
  session: Session | undefined;
  will: WillSpec | undefined;
  /** Set by a normal DISCONNECT: the will is then discarded. */
  disconnectedNormally = false;
  /** The client ended the connection with a DISCONNECT packet (with or without its will). */
  private sentDisconnect = false;
  /** Reason code of the first server-side DISCONNECT or refusal, if the server ended it. */
  private closeReason: number | undefined;
  /** What the client told us in CONNECT (MQTT 5); defaults are the protocol's. */
  clientReceiveMaximum = 65535;
  clientMaxPacketSize = 0;
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  /** Topic aliases the client defined for its publishes (alias → topic as the client names it). */
  inboundAliases: Map<number, string> | undefined;
  /** Aliases we assigned for publishes to the client (topic → alias). */
  outboundAliases: Map<string, number> | undefined;
  /** Inbound QoS 1/2 publishes not yet fully acknowledged (Receive Maximum accounting). */
  inboundUnacked = 0;

  private readonly reader: PacketReader;
  private pendingPackets: mqtt.Packet[] | undefined;
  /** Acks are sent in the order their PUBLISH arrived even when some wait for the store (MQTT-4.6.0-2). */
  private readonly ackQueue: AckSlot[] = [];
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly broker: Broker,
    readonly stream: Duplex,
    readonly info: ConnectionInfo,
    readonly log: Logger,
  ) {
    this.reader = new PacketReader(broker.options.maxPacketSize, this);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err) => this.log.debug({ err, ...this.logContext() }, 'socket error'));
    stream.on('close', () => this.onClose());
    // A peer that ended its side is gone (MQTT has no half-close); some streams (WebSocket) never emit 'close' then.
    stream.on('end', () => this.destroy());
    this.connectTimer = setTimeout(() => {
      this.log.info(this.logContext(), 'no CONNECT within the connect timeout; closing');
      this.destroy();
    }, broker.options.connectTimeoutMs);
  }

  /** What connection observers are told about this client, with the identity it connected as. */
  view(identity: Identity): ClientView {
    return {
      clientId: this.clientId,
      identity,
      listener: this.info.listener,
      remoteAddress: this.info.remoteAddress,
    };
  }

  logContext(): { clientId: string; address: string; listener: string } {
    return { clientId: this.clientId, address: this.info.remoteAddress, listener: this.info.listener };
  }

  // ---------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.broker.stats.bytesReceived += chunk.length;
    this.reader.push(chunk);
  }

  onReadError(kind: 'malformed' | 'too-large', message: string): void {
    if (this.state === 'closed') return;
    if (kind === 'too-large') {
      this.protocolViolation(RC.PACKET_TOO_LARGE, message);
      return;
    }
    if (this.state === 'awaiting-connect' && message === 'Invalid protocol version') {
      this.broker.stats.malformedPackets++; // protocolViolation() counts the other parse errors
      // MQTT-3.1.2-2: answer an unsupported version with return code 1, in 3.1.1 format, then close.
      this.writePacket({
        cmd: 'connack',
        returnCode: CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION,
        sessionPresent: false,
      });
      this.log.warn(this.logContext(), 'unsupported protocol version; closing');
      this.closeAfterFlush();
      return;
    }
    this.protocolViolation(RC.MALFORMED_PACKET, `malformed packet: ${message}`);
  }

  onPacket(packet: mqtt.Packet): void {
    if (this.state === 'closed') return;
    this.broker.stats.messagesReceived++;
    this.keepAliveTimer?.refresh();
    if (this.state === 'awaiting-connect') {
      if (packet.cmd !== 'connect') {
        this.protocolViolation(RC.PROTOCOL_ERROR, `first packet was ${packet.cmd}, not CONNECT`);
        return;
      }
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined; // idle connections should not keep the Timeout alive
      this.state = 'authenticating';
      this.protocolVersion = packet.protocolVersion ?? 4;
      this.reader.setProtocolVersion(this.protocolVersion);
      acceptConnect(this, packet);
      return;
    }
    if (this.state === 'authenticating') {
      // Clients may pipeline packets behind CONNECT; they run once the CONNACK is out.
      this.pendingPackets ??= [];
      if (this.pendingPackets.length >= this.broker.options.receiveMaximum + 16) {
        this.protocolViolation(RC.RECEIVE_MAXIMUM_EXCEEDED, 'too many packets before CONNACK');
        return;
      }
      this.pendingPackets.push(packet);
      return;
    }
    this.dispatch(packet);
  }

  /** Called by the connect flow once the CONNACK has been written. */
  connected(session: Session, identity: Identity, keepAlive: number): void {
    this.state = 'connected';
    this.session = session;
    this.identity = identity;
    if (keepAlive > 0) {
      // MQTT-3.1.2-24: one and a half times the keep-alive without a packet means the client is gone.
      this.keepAliveTimer = setTimeout(() => this.onKeepAliveTimeout(), keepAlive * 1500);
    }
    const pending = this.pendingPackets ?? [];
    this.pendingPackets = undefined;
    for (const packet of pending) {
      if (this.state !== 'connected') break;
      this.dispatch(packet);
    }
  }

  private dispatch(packet: mqtt.Packet): void {
    switch (packet.cmd) {
      case 'publish':
        handlePublish(this, packet);
        return;
      case 'puback':
        this.broker.onPuback(this, packet.messageId ?? 0);
        return;
      case 'pubrec':
        this.broker.onPubrec(this, packet.messageId ?? 0, packet.reasonCode ?? 0);
        return;
      case 'pubrel':
        handlePubrel(this, packet.messageId ?? 0);
        return;
      case 'pubcomp':
        this.broker.onPubcomp(this, packet.messageId ?? 0);
        return;
      case 'subscribe':
        handleSubscribe(this, packet);
        return;
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        this.writePacket({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        this.onDisconnectPacket(packet);
        return;
      case 'connect':
        this.protocolViolation(RC.PROTOCOL_ERROR, 'second CONNECT on one connection');
        return;
      case 'auth':
        this.protocolViolation(RC.PROTOCOL_ERROR, 'AUTH without an authentication method');
        return;
      default:
        this.protocolViolation(RC.PROTOCOL_ERROR, `a client may not send ${packet.cmd}`);
    }
  }

  private onDisconnectPacket(packet: mqtt.IDisconnectPacket): void {
    const session = this.session;
    const newExpiry = packet.properties?.sessionExpiryInterval;
    if (newExpiry !== undefined && session) {
      if (session.expiryInterval === 0 && newExpiry > 0) {
        // MQTT-3.14.2-2: a session that was created non-persistent may not become persistent on DISCONNECT.
        this.protocolViolation(
          RC.PROTOCOL_ERROR,
          'DISCONNECT may not set a session expiry when CONNECT had 0',
        );
        return;
      }
      session.expiryInterval = Math.min(newExpiry, this.broker.options.maxSessionExpiry);
    }
    this.disconnectedNormally = packet.reasonCode !== RC.DISCONNECT_WITH_WILL;
    this.sentDisconnect = true;
    this.destroy();
  }

  private onKeepAliveTimeout(): void {
    this.log.info(this.logContext(), 'keep-alive timeout; closing');
    this.disconnect(RC.KEEP_ALIVE_TIMEOUT, 'keep-alive timeout');
  }

  // ---------------------------------------------------------------- output

  writePacket(packet: mqtt.Packet): void {
    if (this.state === 'closed') return;
    if (isPlainAck(packet)) {
      this.writeBytes(encodePlainAck(packet.cmd, packet.messageId ?? 0));
      return;
    }
    this.writeBytes(mqtt.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  writeBytes(bytes: Buffer): void {
    if (this.state === 'closed' || this.stream.destroyed) return;
    this.broker.stats.messagesSent++;
    this.broker.stats.bytesSent += bytes.length;
    this.broker.writeBatcher.hold(this.stream);
    this.stream.write(bytes);
    if (this.stream.writableLength > this.broker.options.maxOutputBuffer) {
      this.log.warn(
        { ...this.logContext(), buffered: this.stream.writableLength },
        'client is not reading; output buffer over the limit, disconnecting',
      );
      this.destroy();
    }
  }

  /**
   * Sends one application message. Returns false when it was not sent because it
   * expired or exceeds the client's Maximum Packet Size (the caller then treats the
   * delivery as complete, MQTT-3.1.2-25).
   */
  sendPublish(message: Message, delivery: OutboundDelivery): boolean {
    if (this.state !== 'connected') return false;
    const bytes = encodePublish(this, message, delivery, this.broker.now());
    if (bytes === undefined) return false;
    this.broker.stats.publishSent++;
    this.writeBytes(bytes);
    return true;
  }

  /**
   * Queues an acknowledgement slot; `complete` fills it. Slots are written strictly
   * in order, so a PUBACK that waits for the store holds back later ones.
   */
  reserveAck(): (packet: mqtt.Packet | undefined) => void {
    const slot: AckSlot = { packet: undefined, ready: false };
    this.ackQueue.push(slot);
    return (packet) => {
      slot.packet = packet;
      slot.ready = true;
      while (this.ackQueue.length > 0 && this.ackQueue[0].ready) {
        const head = this.ackQueue.shift() as AckSlot;
        if (head.packet) this.writePacket(head.packet);
      }
    };
  }

  // ---------------------------------------------------------------- closing

  /** Refuses bad input: MQTT 5 clients get a DISCONNECT with the reason, then the connection closes. */
  protocolViolation(reason: number, message: string): void {
    if (this.state === 'closed') return;
    this.log.warn({ ...this.logContext(), reason }, message);
    if (reason === RC.MALFORMED_PACKET || reason === RC.PROTOCOL_ERROR) this.broker.stats.malformedPackets++;
    this.disconnect(reason, message);
  }

  /** Server-initiated DISCONNECT (MQTT 5 only; 3.x has no such packet), then close. */
  disconnect(reason: number, reasonString?: string): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason;
    if (this.protocolVersion === 5 && this.state !== 'awaiting-connect') {
      const properties = reasonString && this.requestProblemInformation ? { reasonString } : undefined;
      this.writePacket({ cmd: 'disconnect', reasonCode: reason, properties });
    }
    this.closeAfterFlush();
  }

  /** Refuses a CONNECT with the version-appropriate CONNACK and closes. */
  refuseConnect(reason: number, reasonString?: string): void {
    if (this.protocolVersion === 5) {
      const properties = reasonString ? { reasonString } : undefined;
      this.writePacket({ cmd: 'connack', reasonCode: reason, sessionPresent: false, properties });
    } else {
      this.writePacket({ cmd: 'connack', returnCode: connackCodeV3(reason), sessionPresent: false });
    }
    this.closeAfterFlush();
  }

  private closeAfterFlush(): void {
    // Release what this turn corked (see WriteBatcher) before ending: TLS streams do not do it on end().
    while (this.stream.writableCorked > 0) this.stream.uncork();
    this.stream.end();
    // A peer that never reads would keep a half-closed socket alive; give the bytes a moment, then cut.
    setTimeout(() => this.destroy(), 1000).unref();
    this.markClosed();
  }

  destroy(): void {
    this.markClosed();
    this.stream.destroy();
  }

  private markClosed(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.reader.halt();
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepAliveTimer);
    this.broker.onConnectionClosed(this, wasConnected);
  }

  private onClose(): void {
    this.markClosed();
  }

  /** Why the connection ended, for connection observers. */
  closeCause(): DisconnectCause {
    if (this.sentDisconnect) return 'client';
    switch (this.closeReason) {
      case undefined:
        return 'lost';
      case RC.KEEP_ALIVE_TIMEOUT:
        return 'keep-alive';
      case RC.SESSION_TAKEN_OVER:
        return 'taken-over';
      case RC.ADMINISTRATIVE_ACTION:
        return 'kicked';
      case RC.SERVER_SHUTTING_DOWN:
        return 'server-shutdown';
      default:
        return 'protocol-error';
    }
  }

  static assignedClientId(): string {
    return `halyard-${randomBytes(9).toString('base64url')}`;
  }
}

export { RC };
