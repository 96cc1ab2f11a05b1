import type { Message } from '../broker/message.js';
import { HalyardError } from '../core/errors.js';
import type { BrokerState, BrokerStore, StoredOutbound, StoredSession, StoreOp } from './broker-store.js';

type Done = (err?: Error) => void;

/**
 * Broker state kept in maps: for unit tests of the broker and for a non-durable
 * mode. It batches like the durable stores (everything submitted in one
 * event-loop turn is applied together on setImmediate, then the callbacks run),
 * so code tested against it meets the same timing in production. A callback that
 * throws is rethrown from a microtask: in tests, a broker bug should be loud.
 */
export class MemoryBrokerStore implements BrokerStore {
  /** Number of batches applied; lets tests observe that one turn's submits share a commit. */
  commits = 0;

  private readonly sessions = new Map<string, StoredSession>();
  /** clientId → seq → entry; per-client maps make session.delete's cascade cheap. */
  private readonly outbound = new Map<string, Map<number, StoredOutbound>>();
  private readonly inbound = new Map<string, Set<number>>();
  private readonly retained = new Map<string, Message>();
  private maxSeq = 0;
  private pending: { ops: StoreOp[]; done?: Done }[] = [];
  private scheduled = false;
  private closed = false;

  load(): Promise<BrokerState> {
    if (this.closed) return Promise.reject(closedError());
    this.commit();
    const outbound: StoredOutbound[] = [];
    for (const entries of this.outbound.values())
      for (const e of entries.values()) outbound.push(cloneOutbound(e));
    outbound.sort((a, b) => a.seq - b.seq);
    const inbound: BrokerState['inbound'] = [];
    for (const [clientId, ids] of this.inbound)
      for (const packetId of ids) inbound.push({ clientId, packetId });
    return Promise.resolve({
      sessions: [...this.sessions.values()].map(cloneSession),
      outbound,
      inbound,
      retained: [...this.retained.values()].map(cloneMessage),
      maxSeq: this.maxSeq,
    });
  }

  submit(ops: StoreOp[], done?: Done): void {
    if (this.closed) {
      if (done) setImmediate(done, closedError());
      return;
    }
    this.pending.push({ ops, done });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  flush(): Promise<void> {
    this.commit();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.commit();
    this.closed = true;
    return Promise.resolve();
  }

  private commit(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    for (const { ops } of batch) for (const op of ops) this.apply(op);
    this.commits++;
    for (const { done } of batch) {
      // A throwing callback must not starve the callbacks after it of their acknowledgement.
      try {
        done?.();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'session.put':
        this.sessions.set(op.session.clientId, cloneSession(op.session));
        return;
      case 'session.delete':
        // A session owns its queue and its QoS 2 ids: they go with it.
        this.sessions.delete(op.clientId);
        this.outbound.delete(op.clientId);
        this.inbound.delete(op.clientId);
        return;
      case 'outbound.put': {
        const entry = cloneOutbound(op.entry);
        let entries = this.outbound.get(entry.clientId);
        if (!entries) this.outbound.set(entry.clientId, (entries = new Map<number, StoredOutbound>()));
        entries.set(entry.seq, entry);
        if (entry.seq > this.maxSeq) this.maxSeq = entry.seq;
        return;
      }
      case 'outbound.update': {
        const entry = this.outbound.get(op.clientId)?.get(op.seq);
        if (!entry) return;
        entry.state = op.state;
        // The op carries the whole delivery state: an absent packetId clears it.
        if (op.packetId === undefined) delete entry.packetId;
        else entry.packetId = op.packetId;
        return;
      }
      case 'outbound.delete': {
        const entries = this.outbound.get(op.clientId);
        entries?.delete(op.seq);
        if (entries?.size === 0) this.outbound.delete(op.clientId);
        return;
      }
      case 'inbound.put': {
        let ids = this.inbound.get(op.clientId);
        if (!ids) this.inbound.set(op.clientId, (ids = new Set<number>()));
        ids.add(op.packetId);
        return;
      }
      case 'inbound.delete': {
        const ids = this.inbound.get(op.clientId);
        ids?.delete(op.packetId);
        if (ids?.size === 0) this.inbound.delete(op.clientId);
        return;
      }
      case 'retained.put':
        this.retained.set(op.message.topic, cloneMessage(op.message));
        return;
      case 'retained.delete':
        this.retained.delete(op.topic);
        return;
    }
  }
}

function closedError(): HalyardError {
  return new HalyardError('STORE_FAILURE', 'the broker store is closed', { store: 'memory' });
}

// Copies on the way in and out, so that neither the broker nor a test can change
// stored state by mutating an object it handed over or got back (as with a real database).

export function cloneMessage(msg: Message): Message {
  const copy: Message = { ...msg, payload: Buffer.from(msg.payload) };
  if (msg.properties) {
    const props = { ...msg.properties };
    if (props.correlationData) props.correlationData = Buffer.from(props.correlationData);
    if (props.userProperties) {
      props.userProperties = Object.fromEntries(
        Object.entries(props.userProperties).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]),
      );
    }
    copy.properties = props;
  }
  return copy;
}

function cloneSession(s: StoredSession): StoredSession {
  return { ...s, subscriptions: s.subscriptions.map((sub) => ({ ...sub })) };
}

function cloneOutbound(e: StoredOutbound): StoredOutbound {
  const copy: StoredOutbound = { ...e, message: cloneMessage(e.message) };
  if (e.subscriptionIdentifiers) copy.subscriptionIdentifiers = [...e.subscriptionIdentifiers];
  return copy;
}
