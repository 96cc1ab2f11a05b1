/**
 * A raw-socket MQTT client for the generator: mqtt-packet encodes the rare
 * control packets (CONNECT, SUBSCRIBE), FrameScanner counts what comes back, and
 * PUBACKs owed by a QoS 1 subscriber are written once per received chunk.
 */
import net from 'node:net';
import * as mqtt from 'mqtt-packet';
import { FrameScanner, type FrameHandler } from './frame-scanner.js';
import { withTimeout } from './timing.js';

const PUBLISH = 3;
const PUBACK = 4;

export interface ConnectOptions {
  clientId: string;
  username?: string;
  password?: string;
  keepalive?: number;
  timeoutMs?: number;
  /** 4 (MQTT 3.1.1, the default) or 5: a v5 PUBACK carries a reason code (a refusal shows). */
  protocolVersion?: 4 | 5;
}

export class RawClient {
  /** Called for every PUBLISH frame received. */
  onPublish: FrameHandler | null = null;
  /** Called after each received chunk has been scanned (flow control hooks in here). */
  afterData: (() => void) | null = null;
  /** Called for every PUBACK received, with its packet id and reason code (0 unless MQTT 5 says otherwise). */
  onPuback: ((packetId: number, reason: number) => void) | null = null;
  pubacks = 0;
  error: Error | null = null;
  private readonly scanner: FrameScanner;
  private waiter: { type: number; resolve: (first: number) => void } | null = null;
  private acks = Buffer.allocUnsafe(4 * 4096);
  private ackCount = 0;

  private constructor(readonly socket: net.Socket) {
    this.scanner = new FrameScanner((buf, off, avail, hdrLen, remLen) => {
      const type = buf[off] >> 4;
      if (type === PUBLISH) this.onPublish?.(buf, off, avail, hdrLen, remLen);
      else if (type === PUBACK) {
        this.pubacks++;
        if (this.onPuback) {
          const p = off + hdrLen;
          this.onPuback((buf[p] << 8) | buf[p + 1], remLen > 2 ? buf[p + 2] : 0);
        }
      } else if (this.waiter?.type === type) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(buf[off + hdrLen + 1]);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      this.scanner.push(chunk);
      if (this.ackCount > 0) this.flushAcks();
      this.afterData?.();
    });
    socket.on('error', (err) => (this.error ??= err));
  }

  static async connect(port: number, opts: ConnectOptions): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const client = new RawClient(socket);
    const connack = client.expect(2);
    // Written before the TCP handshake completes: node queues it, saving a round trip.
    socket.write(
      mqtt.generate({
        cmd: 'connect',
        clientId: opts.clientId,
        ...(opts.username === undefined ? {} : { username: opts.username }),
        ...(opts.password === undefined ? {} : { password: Buffer.from(opts.password) }),
        protocolVersion: opts.protocolVersion ?? 4,
        clean: true,
        keepalive: opts.keepalive ?? 0,
      }),
    );
    const code = await withTimeout(connack, opts.timeoutMs ?? 10_000, `CONNACK for ${opts.clientId}`);
    if (code !== 0) throw new Error(`CONNACK return code ${code} for ${opts.clientId}`);
    return client;
  }

  async subscribe(filter: string, qos: 0 | 1, timeoutMs = 10_000): Promise<void> {
    const suback = this.expect(9);
    this.socket.write(
      mqtt.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }),
    );
    const granted = await withTimeout(suback, timeoutMs, `SUBACK for ${filter}`);
    if (granted === 0x80) throw new Error(`subscription to ${filter} refused`);
  }

  /** Queues a PUBACK; all queued ones leave in one write after the current chunk. */
  ack(packetId: number): void {
    if (this.ackCount * 4 === this.acks.length) this.flushAcks();
    const o = this.ackCount++ * 4;
    this.acks[o] = 0x40;
    this.acks[o + 1] = 2;
    this.acks[o + 2] = packetId >> 8;
    this.acks[o + 3] = packetId & 255;
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private flushAcks(): void {
    // Copied: the socket may hold the buffer after write() returns.
    this.socket.write(Buffer.from(this.acks.subarray(0, this.ackCount * 4)));
    this.ackCount = 0;
  }

  /** Resolves with the byte after the fixed header + 1 (CONNACK return code / first SUBACK grant). */
  private expect(type: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiter = { type, resolve };
      this.socket.once('close', () => reject(this.error ?? new Error('connection closed')));
    });
  }
}
