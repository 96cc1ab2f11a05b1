import type { Duplex } from 'node:stream';
import type { Logger } from '../core/logger.js';
import type { BrokerStore, StoredOutbound, StoreOp } from '../store/broker-store.js';
import type { Authenticator, ConnectionObserver, Identity } from './auth.js';
import type { PublishHook } from './publish-hook.js';
import type { WillSpec } from './connect-flow.js';
import { MqttConnection } from './connection.js';
import type { ConnectionInfo } from './connection-info.js';
import type { EncodingCache } from './encode.js';
import { isExpired, type Message } from './message.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from './options.js';
import { RC } from './reason-codes.js';
import { RetainedMessages } from './retained.js';
import { Session } from './session.js';
import { BrokerStats } from './stats.js';
import { subscriptionKey, type Subscription } from './subscription.js';
import { SubscriptionIndex } from './subscription-index.js';
import { sysTopicValues } from './sys-topics.js';
import { WriteBatcher } from './write-batcher.js';

export interface BrokerDeps {
  store: BrokerStore;
  authenticator: Authenticator;
  logger: Logger;
  options?: Partial<BrokerOptions>;
  /** Hears of every authenticated connection's start and end. */
  observer?: ConnectionObserver;
  /** Consumes or refuses some publishes before routing (telemetry ingest). */
  publishHook?: PublishHook;
  /** ms since epoch; injectable for tests. */
  now?: () => number;
}

export type PublishDone = (err: Error | undefined, matched: boolean) => void;

/**
 * The broker core: sessions, routing, retained messages, wills and QoS flows.
 * It owns no sockets and no files; transports hand it streams and the store
 * makes its state durable.
 */
export class Broker {
  readonly stats = new BrokerStats();
  readonly options: BrokerOptions;
  readonly now: () => number;
  readonly writeBatcher = new WriteBatcher();
  private readonly log: Logger;
  private readonly store: BrokerStore;
  private readonly connections = new Set<MqttConnection>();
  private readonly sessions = new Map<string, Session>();
  private readonly index = new SubscriptionIndex();
  private readonly retained = new RetainedMessages();
  private readonly pendingWills = new Map<string, { timer: NodeJS.Timeout; will: WillSpec }>();
  private seq = 0;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;

  constructor(readonly deps: BrokerDeps) {
    this.options = { ...DEFAULT_BROKER_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
    this.log = deps.logger;
    this.store = deps.store;
  }

  /** Loads durable state; call before handing it connections. */
  async start(): Promise<void> {
    const state = await this.store.load();
    const now = this.now();
    this.seq = state.maxSeq;
    for (const stored of state.sessions) {
      const session = new Session(stored.clientId, stored.expiryInterval, stored.protocolVersion);
      // A session that was connected when the process died counts as disconnected from now.
      session.disconnectedAt = stored.disconnectedAt ?? now;
      this.sessions.set(session.clientId, session);
      for (const sub of stored.subscriptions) this.addSubscription(session, sub);
    }
    for (const entry of state.outbound) {
      const session = this.sessions.get(entry.clientId);
      if (!session) continue;
      if (entry.state === 'queued' || entry.packetId === undefined) session.queue.push(entry);
      else session.inflight.set(entry.packetId, entry);
    }
    for (const { clientId, packetId } of state.inbound)
      this.sessions.get(clientId)?.inboundQos2.add(packetId);
    for (const message of state.retained) this.retained.load(message);
    this.refreshGauges();
    this.log.info(
      { sessions: this.sessions.size, queued: state.outbound.length, retained: state.retained.length },
      'broker state loaded',
    );
    this.timers.push(setInterval(() => this.sweep(), this.options.sweepIntervalMs).unref());
    if (this.options.sysInterval > 0) {
      this.publishSys();
      this.timers.push(setInterval(() => this.publishSys(), this.options.sysInterval * 1000).unref());
    }
  }

  /** Takes ownership of a byte stream that speaks MQTT (TCP socket, TLS socket, WebSocket stream). */
  handleConnection(stream: Duplex, info: ConnectionInfo): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const conn = new MqttConnection(this, stream, info, this.log);
    this.connections.add(conn);
  }

  /**
   * Closes every connected client whose identity matches, with an MQTT 5 DISCONNECT
   * (default 0x98 administrative action): a revoked credential, a deactivated device.
   * Returns how many were closed.
   */
  disconnectWhere(
    matches: (identity: Identity) => boolean,
    reason: number = RC.ADMINISTRATIVE_ACTION,
    reasonString = 'disconnected by an administrator',
  ): number {
    let count = 0;
    for (const conn of this.connections) {
      if (conn.state !== 'connected' || !conn.identity || !matches(conn.identity)) continue;
      conn.disconnect(reason, reasonString);
      count++;
    }
    return count;
  }

  connectedCount(): number {
    return this.stats.clientsConnected;
  }

  /**
   * CONNECTs past the maxConnections check whose authentication has not
   * settled: they count towards the cap (connect-flow.ts), or CONNECTs
   * arriving together would all pass it before any was connected.
   */
  authenticating = 0;

  // ---------------------------------------------------------------- sessions

  /** Binds a connection to its session, taking over a live one; returns whether an old session continues. */
  attachSession(
    conn: MqttConnection,
    request: { clientId: string; expiryInterval: number; cleanStart: boolean; protocolVersion: 3 | 4 | 5 },
  ): { session: Session; sessionPresent: boolean } {
    let session = this.sessions.get(request.clientId);
    const expiresAt = session?.expiresAt();
    if (session && !session.connection && expiresAt !== undefined && expiresAt <= this.now()) {
      // Expired but not yet swept: it must not be resumed (MQTT-3.1.2-23 / session expiry).
      this.endSession(session);
      session = undefined;
    }
    const previous = session?.connection;
    if (session && previous) {
      this.log.info({ clientId: request.clientId }, 'session taken over by a new connection');
      session.connection = undefined;
      previous.disconnect(RC.SESSION_TAKEN_OVER, 'another connection took over this session');
    }
    if (session && request.cleanStart) {
      this.endSession(session);
      session = undefined;
    }
    const pending = this.pendingWills.get(request.clientId);
    if (pending) {
      // MQTT-3.1.3-9: a new connection within the Will Delay Interval cancels the will.
      clearTimeout(pending.timer);
      this.pendingWills.delete(request.clientId);
    }
    const sessionPresent = session !== undefined;
    const ops: StoreOp[] = [];
    if (!session) {
      session = new Session(request.clientId, request.expiryInterval, request.protocolVersion);
      this.sessions.set(session.clientId, session);
    } else {
      if (session.persistent && request.expiryInterval === 0) this.forgetStored(session, ops);
      session.expiryInterval = request.expiryInterval;
      session.protocolVersion = request.protocolVersion;
    }
    session.connection = conn;
    session.disconnectedAt = undefined;
    if (session.persistent) ops.push({ op: 'session.put', session: session.toStored() });
    if (ops.length > 0) this.store.submit(ops);
    this.stats.clientsConnected++;
    this.stats.connectionsTotal++;
    this.stats.clientsMaximum = Math.max(this.stats.clientsMaximum, this.stats.clientsConnected);
    this.refreshGauges();
    return { session, sessionPresent };
  }

  onConnectionClosed(conn: MqttConnection, wasConnected: boolean): void {
    this.connections.delete(conn);
    if (!wasConnected) return;
    this.stats.clientsConnected--;
    if (conn.identity && this.deps.observer) {
      this.deps.observer.clientDisconnected(conn.view(conn.identity), conn.closeCause());
    }
    const session = conn.session;
    if (!session) return;
    const stillOurs = session.connection === conn;
    if (stillOurs) session.connection = undefined;
    if (conn.will && !conn.disconnectedNormally && !this.closing) {
      this.scheduleWill(session.clientId, conn.will, Math.min(conn.will.delay, session.expiryInterval));
    }
    if (!stillOurs) return; // taken over: the new connection owns the session now
    if (!session.persistent) {
      this.endSession(session);
      return;
    }
    session.disconnectedAt = this.now();
    this.store.submit([{ op: 'session.put', session: session.toStored() }]);
  }

  /** Removes a session and everything it holds; a will waiting for the session's end goes out now. */
  private endSession(session: Session): void {
    for (const sub of session.subscriptions.values()) this.index.remove(session, sub);
    session.subscriptions.clear();
    this.sessions.delete(session.clientId);
    if (session.persistent) {
      const ops: StoreOp[] = [];
      this.forgetStored(session, ops);
      this.store.submit(ops);
    }
    session.queue = [];
    session.inflight.clear();
    const pending = this.pendingWills.get(session.clientId);
    if (pending) {
      clearTimeout(pending.timer);
      this.pendingWills.delete(session.clientId);
      this.publishWill(pending.will);
    }
    this.refreshGauges();
  }

  /** Store operations that erase a session's durable copy (the store cascades to its queue and QoS 2 ids). */
  private forgetStored(session: Session, ops: StoreOp[]): void {
    ops.push({ op: 'session.delete', clientId: session.clientId });
  }

  persistSession(session: Session, done: (err?: Error) => void): void {
    if (!session.persistent) {
      done();
      return;
    }
    this.store.submit([{ op: 'session.put', session: session.toStored() }], done);
  }

  private scheduleWill(clientId: string, will: WillSpec, delaySeconds: number): void {
    if (delaySeconds <= 0) {
      this.publishWill(will);
      return;
    }
    const previous = this.pendingWills.get(clientId);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.pendingWills.delete(clientId);
      this.publishWill(will);
    }, delaySeconds * 1000);
    timer.unref();
    this.pendingWills.set(clientId, { timer, will });
  }

  private publishWill(will: WillSpec): void {
    const message: Message = { ...will.message };
    if (will.expiryInterval !== undefined) message.expiresAt = this.now() + will.expiryInterval * 1000;
    this.log.debug({ clientId: message.origin, topic: message.topic }, 'publishing will');
    this.publish(message);
  }

  // ---------------------------------------------------------------- subscriptions

  /** Adds or replaces a subscription; returns whether it is new (for Retain Handling 1). */
  subscribe(session: Session, sub: Subscription): boolean {
    const key = subscriptionKey(sub);
    const existing = session.subscriptions.get(key);
    if (existing) this.index.remove(session, existing);
    this.addSubscription(session, sub);
    this.refreshGauges();
    return existing === undefined;
  }

  private addSubscription(session: Session, sub: Subscription): void {
    session.subscriptions.set(subscriptionKey(sub), sub);
    this.index.add(session, sub);
  }

  unsubscribe(session: Session, key: string): boolean {
    const existing = session.subscriptions.get(key);
    if (!existing) return false;
    session.subscriptions.delete(key);
    this.index.remove(session, existing);
    this.refreshGauges();
    return true;
  }

  /** Live retained messages matching a filter, e.g. for a start-up sweep over platform topics. */
  retainedMatching(filter: string): Message[] {
    const expired: string[] = [];
    const found = this.retained.matching(filter, this.now(), expired);
    const ops: StoreOp[] = [];
    forgetExpired(expired, ops);
    if (ops.length > 0) this.store.submit(ops);
    return found;
  }

  sendRetained(session: Session, sub: Subscription): void {
    const expired: string[] = [];
    const ops: StoreOp[] = [];
    for (const message of this.retained.matching(sub.filter, this.now(), expired)) {
      const ids = sub.subscriptionIdentifier !== undefined ? [sub.subscriptionIdentifier] : undefined;
      this.deliver(session, message, Math.min(message.qos, sub.qos) as 0 | 1 | 2, true, ids, ops);
    }
    forgetExpired(expired, ops);
    if (ops.length > 0) this.store.submit(ops);
    this.refreshGauges();
  }

  // ---------------------------------------------------------------- routing

  /**
   * Routes a message to every matching session. `done` runs once everything the
   * message caused (queue entries of persistent sessions, the retained copy) is
   * durable: that is when a PUBACK may go out.
   */
  publish(message: Message, done?: PublishDone, extraOps?: StoreOp[]): void {
    const ops: StoreOp[] = extraOps ?? [];
    const durable = !message.topic.startsWith('$SYS/');
    if (message.retain) {
      const change = this.retained.apply(message);
      if (durable && change === 'put')
        ops.push({ op: 'retained.put', message: { ...message, retain: true } });
      if (durable && change === 'delete') ops.push({ op: 'retained.delete', topic: message.topic });
      this.stats.retained = this.retained.size;
    }
    const targets = this.index.targets(message.topic, message.qos, message.origin);
    const cache = targets.length > 1 ? {} : undefined;
    for (const target of targets) {
      const retain = target.retainAsPublished && message.retain;
      this.deliver(target.session, message, target.qos, retain, target.subscriptionIdentifiers, ops, cache);
    }
    const matched = targets.length > 0;
    if (ops.length === 0) {
      done?.(undefined, matched);
      return;
    }
    this.store.submit(ops, done ? (err) => done(err, matched) : undefined);
  }

  private deliver(
    session: Session,
    message: Message,
    qos: 0 | 1 | 2,
    retain: boolean,
    subscriptionIdentifiers: number[] | undefined,
    ops: StoreOp[],
    cache?: EncodingCache,
  ): void {
    const conn = session.connection;
    if (qos === 0) {
      // QoS 0 is never queued for an absent client (as in Mosquitto's default).
      if (conn) conn.sendPublish(message, { qos: 0, retain, subscriptionIdentifiers, cache });
      return;
    }
    const entry: StoredOutbound = {
      seq: ++this.seq,
      clientId: session.clientId,
      message,
      qos,
      retain,
      subscriptionIdentifiers,
      state: 'queued',
    };
    if (conn && session.queue.length === 0 && session.inflight.size < this.inflightLimit(conn)) {
      if (!this.sendEntry(session, conn, entry)) return;
    } else {
      if (session.queue.length >= this.options.maxQueuedMessages) {
        this.stats.publishDropped++;
        if (this.options.queueOverflow === 'drop-new') return;
        const evicted = session.queue.shift();
        if (evicted && session.persistent)
          ops.push({ op: 'outbound.delete', clientId: session.clientId, seq: evicted.seq });
      }
      session.queue.push(entry);
    }
    if (session.persistent) ops.push({ op: 'outbound.put', entry: { ...entry } });
  }

  private inflightLimit(conn: MqttConnection): number {
    return Math.min(this.options.maxInflight, conn.clientReceiveMaximum);
  }

  /** Puts an entry in flight; false when it could not be sent (expired, too large) and is therefore finished. */
  private sendEntry(session: Session, conn: MqttConnection, entry: StoredOutbound): boolean {
    const packetId = session.allocatePacketId();
    if (packetId === undefined) return false;
    entry.packetId = packetId;
    entry.state = 'publish-sent';
    session.inflight.set(packetId, entry);
    const sent = conn.sendPublish(entry.message, {
      qos: entry.qos,
      retain: entry.retain,
      packetId,
      subscriptionIdentifiers: entry.subscriptionIdentifiers,
    });
    if (!sent) session.inflight.delete(packetId);
    return sent;
  }

  /** Moves queued entries into flight while the client has room. */
  private drain(session: Session, ops: StoreOp[]): void {
    const conn = session.connection;
    if (!conn || conn.state !== 'connected') return;
    const limit = this.inflightLimit(conn);
    while (session.queue.length > 0 && session.inflight.size < limit) {
      const entry = session.queue.shift() as StoredOutbound;
      const sent = this.sendEntry(session, conn, entry);
      if (!session.persistent) continue;
      if (sent) {
        ops.push({
          op: 'outbound.update',
          clientId: session.clientId,
          seq: entry.seq,
          state: 'publish-sent',
          packetId: entry.packetId,
        });
      } else {
        ops.push({ op: 'outbound.delete', clientId: session.clientId, seq: entry.seq });
      }
    }
  }

  /** After CONNACK on a resumed session: re-send what was in flight (DUP), then the queue. */
  resumeDelivery(session: Session): void {
    const conn = session.connection;
    if (!conn) return;
    const ops: StoreOp[] = [];
    const inflight = [...session.inflight.values()].sort((a, b) => a.seq - b.seq);
    for (const entry of inflight) {
      const packetId = entry.packetId as number;
      if (entry.state === 'pubrec-received') {
        conn.writePacket({ cmd: 'pubrel', messageId: packetId });
        continue;
      }
      const sent = conn.sendPublish(entry.message, {
        qos: entry.qos,
        retain: entry.retain,
        packetId,
        dup: true,
        subscriptionIdentifiers: entry.subscriptionIdentifiers,
      });
      if (!sent) {
        session.inflight.delete(packetId);
        if (session.persistent)
          ops.push({ op: 'outbound.delete', clientId: session.clientId, seq: entry.seq });
      }
    }
    this.drain(session, ops);
    if (ops.length > 0) this.store.submit(ops);
  }

  // ---------------------------------------------------------------- acknowledgements from clients

  private finish(session: Session, entry: StoredOutbound): void {
    session.inflight.delete(entry.packetId as number);
    const ops: StoreOp[] = [];
    if (session.persistent) ops.push({ op: 'outbound.delete', clientId: session.clientId, seq: entry.seq });
    this.drain(session, ops);
    if (ops.length > 0) this.store.submit(ops);
  }

  onPuback(conn: MqttConnection, packetId: number): void {
    const session = conn.session;
    const entry = session?.inflight.get(packetId);
    if (!session || !entry || entry.qos !== 1) return;
    this.finish(session, entry);
  }

  onPubrec(conn: MqttConnection, packetId: number, reasonCode: number): void {
    const session = conn.session;
    const entry = session?.inflight.get(packetId);
    if (!session || !entry || entry.qos !== 2) {
      const reason = conn.protocolVersion === 5 ? RC.PACKET_IDENTIFIER_NOT_FOUND : undefined;
      conn.writePacket({ cmd: 'pubrel', messageId: packetId, reasonCode: reason });
      return;
    }
    if (reasonCode >= 0x80) {
      this.finish(session, entry); // the receiver refused it: the flow ends here (MQTT-4.3.3)
      return;
    }
    entry.state = 'pubrec-received';
    if (!session.persistent) {
      conn.writePacket({ cmd: 'pubrel', messageId: packetId });
      return;
    }
    // PUBREL only once 'pubrec-received' is durable: after it, the PUBLISH must never be
    // sent again (MQTT-4.3.3), not even after a crash, or the receiver would deliver it twice.
    const complete = conn.reserveAck();
    this.store.submit(
      [
        {
          op: 'outbound.update',
          clientId: session.clientId,
          seq: entry.seq,
          state: 'pubrec-received',
          packetId,
        },
      ],
      () => complete({ cmd: 'pubrel', messageId: packetId }),
    );
  }

  onPubcomp(conn: MqttConnection, packetId: number): void {
    const session = conn.session;
    const entry = session?.inflight.get(packetId);
    if (!session || !entry || entry.state !== 'pubrec-received') return;
    this.finish(session, entry);
  }

  /** Records an inbound QoS 2 packet id; returns the store ops to commit with the message. */
  rememberInboundQos2(session: Session, packetId: number): StoreOp[] | undefined {
    session.inboundQos2.add(packetId);
    return session.persistent ? [{ op: 'inbound.put', clientId: session.clientId, packetId }] : undefined;
  }

  /** `done` runs once the removal is durable (at once if there was nothing durable to remove). */
  forgetInboundQos2(session: Session, packetId: number, done?: () => void): void {
    if (!session.inboundQos2.delete(packetId) || !session.persistent) {
      done?.();
      return;
    }
    this.store.submit(
      [{ op: 'inbound.delete', clientId: session.clientId, packetId }],
      done && (() => done()),
    );
  }

  // ---------------------------------------------------------------- housekeeping

  private refreshGauges(): void {
    this.stats.sessions = this.sessions.size;
    this.stats.subscriptions = this.index.size;
    this.stats.retained = this.retained.size;
  }

  /** Ends expired sessions and drops expired queued messages. */
  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions.values()) {
      const expiresAt = session.expiresAt();
      if (expiresAt !== undefined && expiresAt <= now) {
        this.log.debug({ clientId: session.clientId }, 'session expired');
        this.endSession(session);
        continue;
      }
      if (session.queue.length > 0 && session.queue.some((e) => isExpired(e.message, now))) {
        const ops: StoreOp[] = [];
        session.queue = session.queue.filter((entry) => {
          if (!isExpired(entry.message, now)) return true;
          if (session.persistent)
            ops.push({ op: 'outbound.delete', clientId: session.clientId, seq: entry.seq });
          return false;
        });
        if (ops.length > 0) this.store.submit(ops);
      }
    }
  }

  private publishSys(): void {
    const now = this.now();
    for (const [topic, value] of sysTopicValues(this.stats, this.options.version, now)) {
      this.publish({ topic, payload: Buffer.from(value), qos: 0, retain: true, origin: '' });
    }
  }

  /** Sends DISCONNECT 0x8B (server shutting down) to every client, closes them and flushes the store. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const { timer } of this.pendingWills.values()) clearTimeout(timer);
    const connections = [...this.connections];
    // Wait until every stream is really closed (a client that does not read is cut after 1 s),
    // so that the DISCONNECTs leave before the listeners tear the sockets down.
    const closed = connections.map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.stream.destroyed) resolve();
          else conn.stream.once('close', () => resolve());
        }),
    );
    for (const conn of connections) {
      if (conn.state === 'connected') conn.disconnect(RC.SERVER_SHUTTING_DOWN, 'server shutting down');
      else conn.destroy();
    }
    await Promise.all(closed);
    await this.store.flush();
  }
}

/** Expired retained messages leave the store too (`$SYS` ones were never in it). */
function forgetExpired(expired: readonly string[], ops: StoreOp[]): void {
  for (const topic of expired) if (!topic.startsWith('$SYS/')) ops.push({ op: 'retained.delete', topic });
}
