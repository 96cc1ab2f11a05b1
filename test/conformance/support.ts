/**
 * Shared machinery of the protocol conformance suite: the transport abstraction,
 * a per-test context that owns and ends every client it hands out, event-based
 * waiting helpers and a raw mqtt-packet client for byte-precise flows.
 */
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import type { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/options.js';

export interface BrokerSetup {
  options?: Partial<BrokerOptions>;
  /** Injectable broker clock (ms since epoch). */
  now?: () => number;
}

/** A broker reachable over one transport. */
export interface ConformanceServer {
  broker: Broker;
  /** URL and transport options (TLS trust etc.) for MQTT.js. */
  url: string;
  clientOptions: IClientOptions;
  /** A raw byte stream to the broker over the same transport. */
  openStream(): Promise<Duplex>;
  close(): Promise<void>;
}

export type StartServer = (setup: BrokerSetup) => Promise<ConformanceServer>;

/** A manually advanced clock for the broker. */
export class ManualClock {
  t = Date.now();
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface ConnackPacket {
  sessionPresent: boolean;
  returnCode?: number;
  reasonCode?: number;
  properties?: Record<string, unknown>;
}

/** Everything one test uses; ended by the test wrapper whatever the outcome. */
export class Ctx {
  private readonly clients: MqttClient[] = [];
  private readonly raws: RawClient[] = [];
  private seq = 0;

  constructor(
    readonly server: ConformanceServer,
    readonly clock: ManualClock | undefined,
  ) {}

  get broker(): Broker {
    return this.server.broker;
  }

  /** A unique client id for this test. */
  id(prefix = 'c'): string {
    return `${prefix}-${process.pid}-${++this.seq}`;
  }

  /** An MQTT.js client, not yet connected: attach handlers before awaiting `connected`. */
  client(opts: IClientOptions = {}): MqttClient {
    const client = mqtt.connect(this.server.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: opts.clientId ?? this.id(),
      ...this.server.clientOptions,
      ...opts,
    });
    client.on('error', () => undefined); // surfaced through the awaited events instead
    this.clients.push(client);
    return client;
  }

  async connect(opts: IClientOptions = {}): Promise<MqttClient> {
    const client = this.client(opts);
    await connected(client);
    return client;
  }

  async connectWithAck(opts: IClientOptions = {}): Promise<{ client: MqttClient; connack: ConnackPacket }> {
    const client = this.client(opts);
    const connack = await connected(client);
    return { client, connack };
  }

  async raw(protocolVersion: 3 | 4 | 5 = 5): Promise<RawClient> {
    const raw = new RawClient(await this.server.openStream(), protocolVersion);
    this.raws.push(raw);
    return raw;
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.clients.map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))),
    );
    for (const raw of this.raws) raw.destroy();
    await this.server.close();
  }
}

/** Resolves with the CONNACK once the client is connected; rejects on error or close first. */
export function connected(client: MqttClient): Promise<ConnackPacket> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('closed before CONNACK'));
    };
    const onConnect = (connack: ConnackPacket): void => {
      cleanup();
      resolve(connack);
    };
    const cleanup = (): void => {
      client.off('error', onError);
      client.off('close', onClose);
      client.off('connect', onConnect);
    };
    client.on('error', onError);
    client.on('close', onClose);
    client.on('connect', onConnect);
  });
}

export interface Received {
  topic: string;
  payload: string;
  packet: mqttPacket.IPublishPacket;
}

/** Records every message a client receives and lets a test await the n-th or a particular one. */
export class Inbox {
  readonly messages: Received[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), packet });
      this.waiters = this.waiters.filter((w) => {
        if (!w.test()) return true;
        w.resolve();
        return false;
      });
    });
  }

  private until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test: check, resolve }));
  }

  /** Waits until at least n messages arrived; returns the first n. */
  async count(n: number): Promise<Received[]> {
    await this.until(() => this.messages.length >= n);
    return this.messages.slice(0, n);
  }

  /** Waits for a message with this payload; returns everything received up to and including it. */
  async upTo(payload: string): Promise<Received[]> {
    await this.until(() => this.messages.some((m) => m.payload === payload));
    const at = this.messages.findIndex((m) => m.payload === payload);
    return this.messages.slice(0, at + 1);
  }

  payloads(): string[] {
    return this.messages.map((m) => m.payload);
  }
}

export function once<T = unknown>(emitter: MqttClient | Duplex, event: string): Promise<T> {
  return new Promise((resolve) => (emitter as NodeJS.EventEmitter).once(event, (value: T) => resolve(value)));
}

/** A minimal client over a raw stream: send any packet, await any packet, observe the close. */
export class RawClient {
  readonly received: mqttPacket.Packet[] = [];
  readonly closed: Promise<void>;
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private waiters: { match: (p: mqttPacket.Packet) => boolean; resolve: (p: mqttPacket.Packet) => void }[] =
    [];
  private consumed = new Set<mqttPacket.Packet>();

  constructor(
    readonly stream: Duplex,
    readonly protocolVersion: 3 | 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on('packet', (packet) => this.onPacket(packet));
    stream.on('data', (chunk: Buffer) => this.parser.parse(chunk));
    stream.on('error', () => undefined);
    this.closed = new Promise((resolve) => stream.on('close', () => resolve()));
  }

  private onPacket(packet: mqttPacket.Packet): void {
    this.received.push(packet);
    const waiter = this.waiters.find((w) => w.match(packet));
    if (waiter) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      this.consumed.add(packet);
      waiter.resolve(packet);
    }
  }

  send(packet: mqttPacket.Packet): void {
    this.stream.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** The first not-yet-claimed packet that matches (a command name or a predicate), already received or next. */
  next<C extends mqttPacket.Packet['cmd']>(cmd: C): Promise<Extract<mqttPacket.Packet, { cmd: C }>>;
  next<T extends mqttPacket.Packet = mqttPacket.Packet>(match: (p: mqttPacket.Packet) => boolean): Promise<T>;
  next<T extends mqttPacket.Packet = mqttPacket.Packet>(
    match: string | ((p: mqttPacket.Packet) => boolean),
  ): Promise<T> {
    const test = typeof match === 'string' ? (p: mqttPacket.Packet) => p.cmd === match : match;
    const ready = this.received.find((p) => !this.consumed.has(p) && test(p));
    if (ready) {
      this.consumed.add(ready);
      return Promise.resolve(ready as T);
    }
    return new Promise((resolve) => this.waiters.push({ match: test, resolve: (p) => resolve(p as T) }));
  }

  /** Sends CONNECT and returns the CONNACK. */
  async connect(fields: Partial<mqttPacket.IConnectPacket> = {}): Promise<mqttPacket.IConnackPacket> {
    this.send({
      cmd: 'connect',
      protocolId: this.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.protocolVersion,
      clean: true,
      clientId: `raw-${process.pid}-${Math.random().toString(36).slice(2)}`,
      keepalive: 0,
      ...fields,
    });
    return this.next('connack');
  }

  /** Subscribes and returns the SUBACK. */
  async subscribe(
    subscriptions: mqttPacket.ISubscription[],
    messageId = 1,
    properties?: mqttPacket.ISubscribePacket['properties'],
  ): Promise<mqttPacket.ISubackPacket> {
    this.send({ cmd: 'subscribe', messageId, subscriptions, properties });
    return this.next<mqttPacket.ISubackPacket>((p) => p.cmd === 'suback' && p.messageId === messageId);
  }

  /** Round trip through the broker: everything it wrote to us before the PINGRESP has been received. */
  async ping(): Promise<void> {
    const before = this.received.length;
    this.send({ cmd: 'pingreq' });
    await this.next((p) => p.cmd === 'pingresp' && this.received.indexOf(p) >= before);
  }

  publishes(): mqttPacket.IPublishPacket[] {
    return this.received.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
  }

  destroy(): void {
    this.stream.destroy();
  }
}

/** Registers one conformance test: a fresh broker, a context, and cleanup whatever happens. */
export function defineCase(
  start: StartServer,
  name: string,
  setup: BrokerSetup & { clock?: boolean },
  fn: (ctx: Ctx) => Promise<void>,
): void {
  void test(name, { timeout: 20_000 }, async () => {
    const clock = setup.clock ? new ManualClock() : undefined;
    const server = await start({ options: setup.options, now: clock?.now ?? setup.now });
    const ctx = new Ctx(server, clock);
    try {
      await fn(ctx);
    } finally {
      await ctx.dispose();
    }
  });
}

/** A case definer bound to one transport. */
export type Case = (
  name: string,
  setup: BrokerSetup & { clock?: boolean },
  fn: (ctx: Ctx) => Promise<void>,
) => void;

export function caseFor(start: StartServer): Case {
  return (name, setup, fn) => defineCase(start, name, setup, fn);
}

export function subscriptionIds(packet: mqttPacket.IPublishPacket): number[] {
  const ids = packet.properties?.subscriptionIdentifier;
  if (ids === undefined) return [];
  return (Array.isArray(ids) ? ids : [ids]).slice().sort((a, b) => a - b);
}
