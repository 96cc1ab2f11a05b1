import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import * as mqtt from 'mqtt-packet';
import type { Identity } from '../../broker/auth.js';
import type { ConnectionInfo } from '../../broker/connection-info.js';
import { PacketReader, type PacketReaderEvents } from '../../broker/packet-reader.js';
import { encodePlainAck, encodePlainPublish } from '../../broker/publish-codec.js';
import { RC } from '../../broker/reason-codes.js';
import type { ConnectionSink } from '../connection-sink.js';

/**
 * A conversation's MQTT 5 session inside the broker. The line protocol does
 * not re-implement sessions, ACLs, quotas, publish hooks or durability: each
 * authenticated conversation becomes an ordinary MQTT 5 client of the broker,
 * connected over an in-memory stream pair the way the WebSocket transport hands
 * over its streams, and carrying the identity the line listener authenticated
 * (the broker then does not ask its authenticator). The broker treats it like
 * any other client: mount point, ACL and quota on every PUBLISH and SUBSCRIBE,
 * presence and connection caps through its connection observer, a PUBACK only
 * once the message is durable.
 */

export interface LinkAck {
  /** MQTT 5 reason code of the PUBACK / SUBACK / UNSUBACK (≥ 0x80: refused). */
  reason: number;
  reasonString?: string;
}

export type LinkAckCallback = (ack: LinkAck) => void;

export type LinkOpened = { ok: true; link: BrokerLink } | { ok: false; refused: LinkAck };

export interface BrokerLinkEvents {
  /** A message for the conversation; `ack` releases the broker's next one (call it once it is written). */
  onMessage(topic: string, payload: Buffer, ack: () => void): void;
  /** The broker ended the session (its DISCONNECT reason), or the stream closed (undefined). Called once. */
  onEnd(reason: number | undefined, reasonString: string | undefined): void;
}

export interface BrokerLinkOptions {
  sink: ConnectionSink;
  identity: Identity;
  /** The broker's view of the conversation's connection (listener name, peer address). */
  info: Omit<ConnectionInfo, 'identity' | 'allowAnonymous'>;
  clientId: string;
  /** The broker's largest packet: the reader refuses anything bigger. */
  maxPacketSize: number;
  events: BrokerLinkEvents;
}

/**
 * One end of an in-memory byte stream. Writes corked together (the broker corks a client's stream
 * for each input chunk it handles, the link for each turn) reach the other end as one chunk, so a
 * batch of PUBACKs or PUBLISHes is parsed in one go; ending or destroying one end ends the other.
 */
class MemoryPipeEnd extends Duplex {
  peer: MemoryPipeEnd | undefined;

  override _read(): void {
    // Data is pushed by the peer as it is written; nothing to fetch.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error) => void): void {
    this.peer?.push(chunk);
    done();
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error) => void): void {
    this.peer?.push(Buffer.concat(chunks.map((c) => c.chunk)));
    done();
  }

  override _final(done: (err?: Error) => void): void {
    this.peer?.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer) peer.peer = undefined;
    peer?.destroy();
    done(err);
  }
}

function streamPair(): [Duplex, Duplex] {
  const ours = new MemoryPipeEnd();
  const theirs = new MemoryPipeEnd();
  ours.peer = theirs;
  theirs.peer = ours;
  return [ours, theirs];
}

interface QueuedPublish {
  topic: string;
  payload: Buffer;
  done: LinkAckCallback;
}

export class BrokerLink implements PacketReaderEvents {
  private readonly reader: PacketReader;
  /** The start of a packet whose rest has not arrived yet. */
  private partial: Buffer | undefined;
  private readonly pending = new Map<number, LinkAckCallback>();
  private readonly waiting: QueuedPublish[] = [];
  private inflight = 0;
  /** The broker's Receive Maximum: QoS 1 publishes it accepts unacknowledged. */
  private window = 65_535;
  private nextPacketId = 0;
  private ended = false;
  private pinger: NodeJS.Timeout | undefined;
  /** Set until the CONNACK (or the stream's end) answers open(). */
  private opened: ((refused?: LinkAck) => void) | undefined;

  private constructor(
    private readonly stream: Duplex,
    private readonly events: BrokerLinkEvents,
    maxPacketSize: number,
  ) {
    this.reader = new PacketReader(maxPacketSize, this);
    this.reader.setProtocolVersion(5);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => undefined); // the 'close' that follows says everything
    stream.on('end', () => this.end(undefined, undefined)); // the broker ended its side: the session is over
    stream.on('close', () => this.end(undefined, undefined));
  }

  /** Connects a new session; resolves once the broker has accepted it (CONNACK success) or refused it. */
  static open(options: BrokerLinkOptions): Promise<LinkOpened> {
    const [ours, theirs] = streamPair();
    const link = new BrokerLink(ours, options.events, options.maxPacketSize);
    return new Promise<LinkOpened>((resolve) => {
      link.opened = (refused) => resolve(refused ? { ok: false, refused } : { ok: true, link });
      options.sink.handleConnection(theirs, {
        ...options.info,
        allowAnonymous: false,
        identity: options.identity,
      });
      link.write(
        mqtt.generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 5,
            clientId: options.clientId,
            clean: true,
            // 0 lets the broker choose (its maximum); the pinger keeps the session within it.
            keepalive: 0,
            properties: { sessionExpiryInterval: 0 },
          },
          { protocolVersion: 5 },
        ),
      );
    });
  }

  static clientId(): string {
    return `line-${randomBytes(9).toString('base64url')}`;
  }

  /** QoS 1: `done` gets the PUBACK's reason once the message is durable. QoS 0: as soon as it is handed on. */
  publish(topic: string, payload: Buffer, qos: 0 | 1, done: LinkAckCallback): void {
    if (this.ended) return done({ reason: RC.UNSPECIFIED_ERROR });
    if (qos === 0) {
      this.write(encodePlainPublish(topic, payload, 0, false, false, 0, true));
      return done({ reason: RC.SUCCESS });
    }
    if (this.inflight >= this.window) {
      this.waiting.push({ topic, payload, done });
      return;
    }
    this.sendQos1(topic, payload, done);
  }

  subscribe(filter: string, done: LinkAckCallback): void {
    this.request(done, (messageId) => ({
      cmd: 'subscribe',
      messageId,
      subscriptions: [{ topic: filter, qos: 1 }],
    }));
  }

  unsubscribe(filter: string, done: LinkAckCallback): void {
    this.request(done, (messageId) => ({ cmd: 'unsubscribe', messageId, unsubscriptions: [filter] }));
  }

  /** Ends the session normally (DISCONNECT 0x00); callbacks still waiting get 0x80. */
  close(): void {
    if (this.ended) return;
    this.write(mqtt.generate({ cmd: 'disconnect', reasonCode: 0 }, { protocolVersion: 5 }));
    this.finish();
    this.stream.end();
  }

  // ---------------------------------------------------------------- from the broker

  onPacket(packet: mqtt.Packet): void {
    switch (packet.cmd) {
      case 'connack':
        this.onConnack(packet);
        return;
      case 'puback':
        this.onPuback(
          packet.messageId ?? 0,
          packet.reasonCode ?? RC.SUCCESS,
          packet.properties?.reasonString,
        );
        return;
      case 'suback':
      case 'unsuback':
        this.settle(packet.messageId)?.({
          reason: packet.granted[0] as number,
          reasonString: packet.properties?.reasonString,
        });
        return;
      case 'publish': {
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        const messageId = packet.messageId;
        const ack =
          packet.qos === 1 && messageId !== undefined
            ? () => this.write(encodePlainAck('puback', messageId))
            : () => undefined;
        this.events.onMessage(packet.topic, payload, ack);
        return;
      }
      case 'disconnect':
        this.end(packet.reasonCode ?? RC.SUCCESS, packet.properties?.reasonString);
        return;
      default:
        return; // PINGRESP
    }
  }

  /**
   * PUBACKs are most of what the broker sends a publishing conversation, and with a reason code
   * (0x10 "no matching subscribers") mqtt-packet would parse each one through its general parser:
   * they are decoded here. Every other packet goes, whole, to the broker's packet reader.
   */
  private onData(chunk: Buffer): void {
    const buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = undefined;
    let pos = 0;
    while (pos < buf.length && !this.ended) {
      let length = 0;
      let cursor = pos + 1;
      let complete = false;
      for (let shift = 0; cursor < buf.length && shift < 28; shift += 7) {
        const byte = buf[cursor++];
        length += (byte & 0x7f) << shift;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      const end = cursor + length;
      if (!complete || end > buf.length) break;
      if (buf[pos] === 0x40 && length >= 2 && length <= 4) {
        this.onPuback(buf.readUInt16BE(cursor), length > 2 ? buf[cursor + 2] : RC.SUCCESS, undefined);
      } else {
        this.reader.push(buf.subarray(pos, end));
      }
      pos = end;
    }
    if (pos < buf.length && !this.ended) this.partial = Buffer.from(buf.subarray(pos));
  }

  onReadError(): void {
    this.end(RC.MALFORMED_PACKET, 'unreadable packet from the broker');
  }

  private onPuback(packetId: number, reason: number, reasonString: string | undefined): void {
    const done = this.settle(packetId);
    if (!done) return;
    this.inflight--;
    done({ reason, reasonString });
    const next = this.waiting.shift();
    if (next) this.sendQos1(next.topic, next.payload, next.done);
  }

  private onConnack(packet: mqtt.IConnackPacket): void {
    const opened = this.opened;
    this.opened = undefined;
    if (packet.reasonCode) {
      this.finish();
      this.stream.destroy();
      opened?.({ reason: packet.reasonCode, reasonString: packet.properties?.reasonString });
      return;
    }
    this.window = packet.properties?.receiveMaximum ?? 65_535;
    const keepAlive = packet.properties?.serverKeepAlive;
    if (keepAlive) {
      const ping = mqtt.generate({ cmd: 'pingreq' }, { protocolVersion: 5 });
      this.pinger = setInterval(() => this.write(ping), (keepAlive * 1000) / 2).unref();
    }
    opened?.();
  }

  // ---------------------------------------------------------------- internals

  private sendQos1(topic: string, payload: Buffer, done: LinkAckCallback): void {
    const packetId = this.allocate(done);
    this.inflight++;
    this.write(encodePlainPublish(topic, payload, 1, false, false, packetId, true));
  }

  private request(done: LinkAckCallback, packet: (messageId: number) => mqtt.Packet): void {
    if (this.ended) return done({ reason: RC.UNSPECIFIED_ERROR });
    this.write(mqtt.generate(packet(this.allocate(done)), { protocolVersion: 5 }));
  }

  /** A packet id not in use (at most the broker's window plus a few requests are). */
  private allocate(done: LinkAckCallback): number {
    do this.nextPacketId = (this.nextPacketId % 65_535) + 1;
    while (this.pending.has(this.nextPacketId));
    this.pending.set(this.nextPacketId, done);
    return this.nextPacketId;
  }

  private settle(packetId: number | undefined): LinkAckCallback | undefined {
    if (packetId === undefined) return undefined;
    const done = this.pending.get(packetId);
    this.pending.delete(packetId);
    return done;
  }

  private write(bytes: Buffer): void {
    if (this.stream.destroyed || !this.stream.writable) return;
    // What one turn writes (all PUBs of a socket chunk) reaches the broker as one chunk.
    if (this.stream.writableCorked === 0) {
      this.stream.cork();
      process.nextTick(() => this.stream.uncork());
    }
    this.stream.write(bytes);
  }

  /** Stops the pinger and fails whatever still waits for the broker. */
  private finish(): void {
    this.ended = true;
    clearInterval(this.pinger);
    this.reader.halt();
    const failed = { reason: RC.UNSPECIFIED_ERROR, reasonString: 'the session ended' };
    const callbacks = [...this.pending.values(), ...this.waiting.map((w) => w.done)];
    this.pending.clear();
    this.waiting.length = 0;
    for (const done of callbacks) done(failed);
  }

  private end(reason: number | undefined, reasonString: string | undefined): void {
    if (this.ended) return;
    this.finish();
    this.stream.destroy();
    const opened = this.opened;
    this.opened = undefined;
    if (opened) {
      opened({
        reason: reason ?? RC.SERVER_UNAVAILABLE,
        reasonString: reasonString ?? 'the broker closed the session',
      });
      return;
    }
    this.events.onEnd(reason, reasonString);
  }
}
