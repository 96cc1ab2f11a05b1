/**
 * Closed-loop publishing at QoS 1 semantics over either transport, for
 * comparing the line protocol with MQTT into the same Halyard: each device
 * keeps `window` messages unacknowledged (line: PUB frames awaiting their OK;
 * MQTT 5: QoS 1 PUBLISHes awaiting their PUBACK) and sends more as answers
 * come back, in one write per batch. The figure is answers per second over
 * the measured interval; an ERR or a PUBACK ≥ 0x80 counts as refused.
 */
import net from 'node:net';
import { encodePlainPublish } from '../../src/broker/publish-codec.js';
import { RawClient } from './client.js';
import { CpuMeter, sleep, waitUntil, withTimeout, type CpuFigures } from './timing.js';

export interface PubLoadOptions {
  transport: 'line' | 'mqtt';
  port: number;
  brokerPid: number;
  devices: { id: string; token: string }[];
  topic: string;
  /** The payload of device `device`'s message number `seq`. */
  payload(device: number, seq: number): string;
  window: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
}

export interface PubLoadResult {
  /** Acknowledged messages per second over the measured interval. */
  rate: number;
  sent: number;
  acked: number;
  refused: number;
  cpu: CpuFigures;
  problem: string | null;
}

interface Publisher {
  sent: number;
  acked: number;
  refused: number;
  /** Called after each chunk of answers (flow control hooks in here). */
  afterData: (() => void) | null;
  onAck: (() => void) | null;
  send(count: number, payloadOf: (seq: number) => string): void;
  broken(): string | null;
  destroy(): void;
}

const LF = 0x0a;

/** A line-protocol device: token login, then PUB frames; counts OK and ERR answers. */
class LinePublisher implements Publisher {
  sent = 0;
  acked = 0;
  refused = 0;
  afterData: (() => void) | null = null;
  onAck: (() => void) | null = null;
  private atLineStart = true;
  private error: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly topic: string,
  ) {
    socket.on('error', (err) => (this.error ??= err));
  }

  static async connect(port: number, id: string, token: string, topic: string): Promise<LinePublisher> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const lines: string[] = [];
    let partial = '';
    const nextLine = () =>
      withTimeout(
        new Promise<string>((resolve, reject) => {
          const check = () => {
            if (lines.length > 0) return resolve(lines.shift() as string);
            socket.once('data', onData);
          };
          const onData = (chunk: Buffer) => {
            const parts = (partial + chunk.toString('latin1')).split('\n');
            partial = parts.pop() ?? '';
            lines.push(...parts);
            check();
          };
          socket.once('close', () => reject(new Error(`line connection of ${id} closed`)));
          check();
        }),
        10_000,
        `line answer for ${id}`,
      );
    const greeting = await nextLine();
    if (!greeting.startsWith('HALYARD|')) throw new Error(`${id}: no greeting (${greeting})`);
    socket.write(`AUTH|${id}|TOKEN|${token}\n`);
    const answer = await nextLine();
    if (answer !== 'OK') throw new Error(`${id}: AUTH answered ${answer}`);
    const publisher = new LinePublisher(socket, topic);
    socket.on('data', (chunk: Buffer) => publisher.onData(chunk));
    return publisher;
  }

  send(count: number, payloadOf: (seq: number) => string): void {
    let frames = '';
    for (let k = 0; k < count; k++) frames += `PUB|${this.topic}|${payloadOf(this.sent++)}\n`;
    this.socket.write(frames);
  }

  /** Only each answer's first byte matters: O(K), E(RR); MSG and WAIT do not answer a PUB. */
  private onData(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.atLineStart) {
        if (byte === 0x4f) this.ack(false);
        else if (byte === 0x45) this.ack(true);
      }
      this.atLineStart = byte === LF;
    }
    this.afterData?.();
  }

  private ack(refused: boolean): void {
    this.acked++;
    if (refused) this.refused++;
    this.onAck?.();
  }

  broken(): string | null {
    if (this.error) return this.error.message;
    return this.socket.destroyed ? 'closed by the server' : null;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An MQTT 5 device: token as username, QoS 1 PUBLISHes with packet ids cycling through the window. */
class MqttPublisher implements Publisher {
  sent = 0;
  acked = 0;
  refused = 0;
  afterData: (() => void) | null = null;
  onAck: (() => void) | null = null;

  constructor(
    private readonly client: RawClient,
    private readonly topic: string,
  ) {
    client.onPuback = (_id, reason) => {
      this.acked++;
      if (reason >= 0x80) this.refused++;
      this.onAck?.();
    };
    client.afterData = () => this.afterData?.();
  }

  send(count: number, payloadOf: (seq: number) => string): void {
    const packets: Buffer[] = [];
    for (let k = 0; k < count; k++) {
      const seq = this.sent++;
      packets.push(
        encodePlainPublish(
          this.topic,
          Buffer.from(payloadOf(seq)),
          1,
          false,
          false,
          (seq % 65_535) + 1,
          true,
        ),
      );
    }
    this.client.write(Buffer.concat(packets));
  }

  broken(): string | null {
    if (this.client.error) return this.client.error.message;
    return this.client.socket.destroyed ? 'closed by the broker' : null;
  }

  destroy(): void {
    this.client.destroy();
  }
}

export async function pubLoad(o: PubLoadOptions): Promise<PubLoadResult> {
  const publishers: Publisher[] = [];
  let measuring = false;
  let measuredAcks = 0;
  let stopped = false;
  try {
    for (const [i, device] of o.devices.entries()) {
      publishers.push(
        o.transport === 'line'
          ? await LinePublisher.connect(o.port, device.id, device.token, o.topic)
          : new MqttPublisher(
              await RawClient.connect(o.port, {
                clientId: `${device.id}-bench-${i}`,
                username: device.token,
                protocolVersion: 5,
              }),
              o.topic,
            ),
      );
    }
    const minBatch = Math.max(1, Math.floor(o.window / 4));
    let scheduled = false;
    const pumpAll = (): void => {
      scheduled = false;
      if (stopped) return;
      publishers.forEach((p, i) => {
        const free = o.window - (p.sent - p.acked);
        if (free >= minBatch) p.send(free, (seq) => o.payload(i, seq));
      });
    };
    const schedule = (): void => {
      if (!scheduled) {
        scheduled = true;
        setImmediate(pumpAll);
      }
    };
    for (const p of publishers) {
      p.afterData = schedule;
      p.onAck = () => {
        if (measuring) measuredAcks++;
      };
    }
    schedule();

    const meter = new CpuMeter(o.brokerPid);
    await sleep(o.warmupMs);
    measuring = true;
    meter.start();
    await sleep(o.durationMs);
    const cpu = meter.stop();
    measuring = false;
    stopped = true;
    const sum = (f: (p: Publisher) => number): number => publishers.reduce((s, p) => s + f(p), 0);
    const sent = sum((p) => p.sent);
    await waitUntil(() => sum((p) => p.acked) >= sent || publishers.some((p) => p.broken()), o.drainMs, 20);
    const broken = publishers.map((p) => p.broken()).find((b) => b !== null);
    return {
      rate: (measuredAcks * 1000) / cpu.elapsedMs,
      sent,
      acked: sum((p) => p.acked),
      refused: sum((p) => p.refused),
      cpu,
      problem: broken ? `connection lost: ${broken}` : null,
    };
  } finally {
    stopped = true;
    for (const p of publishers) p.destroy();
  }
}
