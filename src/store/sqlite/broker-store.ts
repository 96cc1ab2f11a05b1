import Database from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { BrokerState, BrokerStore, StoreOp } from '../broker-store.js';
import {
  messageFromRow,
  messageParams,
  outboundFromRow,
  sessionFromRow,
  type MessageRow,
  type OutboundRow,
  type SessionRow,
} from './codec.js';
import { prepareStatements, type Statements } from './statements.js';
import { MIGRATIONS } from './migrations.js';
import { openSqliteDatabase, sqliteStoreError } from './open-database.js';

type Done = (err?: Error) => void;

export interface SqliteBrokerStoreOptions {
  /** 'full' (default) survives power loss; 'normal' in WAL mode survives a process crash but may lose the last commits on power loss. */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Broker state in one SQLite file (WAL). Everything submitted in one event-loop
 * turn is committed in one transaction on setImmediate, which is what lets a
 * burst of QoS 1 publishes cost one fsync instead of one each. Ops are read at
 * commit time, so a caller must not mutate them (or their payloads) until done.
 * load() commits anything pending first, so it sees every submitted op.
 */
export class SqliteBrokerStore implements BrokerStore {
  /** Number of transactions committed; lets tests observe that one turn's submits share a commit. */
  commits = 0;

  private pending: { ops: StoreOp[]; done?: Done }[] = [];
  private timer: NodeJS.Immediate | undefined;
  private closed = false;
  private maxSeq: number;
  private readonly applySubmit: (ops: StoreOp[]) => number;
  private readonly commitBatch: (fn: () => void) => void;

  private constructor(
    private readonly db: Database.Database,
    private readonly st: Statements,
    private readonly path: string,
    private readonly log: Logger,
  ) {
    this.maxSeq = (st.getMaxSeq.get() as { value: number }).value;
    // Nested inside commitBatch this becomes a SAVEPOINT: a submit whose ops fail
    // is rolled back alone and only its callback hears about it.
    this.applySubmit = db.transaction((ops: StoreOp[]) => {
      let max = 0;
      for (const op of ops) max = Math.max(max, this.apply(op));
      return max;
    });
    this.commitBatch = db.transaction((fn: () => void) => fn());
  }

  static open(path: string, opts: SqliteBrokerStoreOptions = {}): SqliteBrokerStore {
    const log = opts.logger ?? silentLogger();
    const db = openSqliteDatabase(path, { name: 'broker', migrations: MIGRATIONS }, opts);
    return new SqliteBrokerStore(db, prepareStatements(db), path, log);
  }

  load(): Promise<BrokerState> {
    if (this.closed) return Promise.reject(sqliteStoreError('the broker store is closed', this.path));
    try {
      this.commit();
      // One read transaction, so the parts of the state agree with each other.
      const state = this.db.transaction(() => ({
        sessions: (this.st.loadSessions.all() as SessionRow[]).map(sessionFromRow),
        outbound: (this.st.loadOutbound.all() as OutboundRow[]).map(outboundFromRow),
        inbound: this.st.loadInbound.all() as BrokerState['inbound'],
        retained: (this.st.loadRetained.all() as MessageRow[]).map(messageFromRow),
        maxSeq: this.maxSeq,
      }))();
      return Promise.resolve(state);
    } catch (err) {
      return Promise.reject(sqliteStoreError('could not load the broker state', this.path, err));
    }
  }

  submit(ops: StoreOp[], done?: Done): void {
    if (this.closed) {
      if (done) setImmediate(done, sqliteStoreError('the broker store is closed', this.path));
      return;
    }
    this.pending.push({ ops, done });
    this.timer ??= setImmediate(() => this.commit());
  }

  flush(): Promise<void> {
    const err = this.commit();
    return err ? Promise.reject(err) : Promise.resolve();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const err = this.commit();
    this.closed = true;
    this.db.close();
    return err ? Promise.reject(err) : Promise.resolve();
  }

  /** Commits the pending batch and calls its callbacks; never throws (errors go to the callbacks). */
  private commit(): HalyardError | undefined {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return undefined;
    const batch = this.pending;
    this.pending = [];
    const results: (HalyardError | undefined)[] = [];
    let maxSeq = this.maxSeq;
    let batchErr: HalyardError | undefined;
    try {
      this.commitBatch(() => {
        for (const { ops } of batch) {
          try {
            maxSeq = Math.max(maxSeq, this.applySubmit(ops));
            results.push(undefined);
          } catch (err) {
            // If SQLite abandoned the whole transaction (disk full, I/O error), carrying
            // on would autocommit the rest op by op: fail the batch instead.
            if (!this.db.inTransaction) throw err;
            results.push(sqliteStoreError('a store operation failed', this.path, err));
          }
        }
        // Kept in meta rather than derived from the rows, so deleting delivered entries never lowers it.
        if (maxSeq > this.maxSeq) this.st.setMaxSeq.run(maxSeq);
      });
      this.maxSeq = maxSeq;
      this.commits++;
    } catch (err) {
      batchErr = sqliteStoreError('the store transaction failed', this.path, err);
      this.log.error({ err: batchErr, ops: batch.length }, 'broker store commit failed');
    }
    batch.forEach(({ done }, i) => {
      try {
        done?.(batchErr ?? results[i]);
      } catch (err) {
        this.log.error({ err }, 'broker store callback threw');
      }
    });
    return batchErr;
  }

  /** Applies one op inside the open transaction; returns the seq it wrote (0 if none). */
  private apply(op: StoreOp): number {
    const st = this.st;
    switch (op.op) {
      case 'session.put': {
        const s = op.session;
        const subs = JSON.stringify(s.subscriptions);
        st.putSession.run(s.clientId, s.expiryInterval, s.disconnectedAt ?? null, s.protocolVersion, subs);
        return 0;
      }
      case 'session.delete':
        // A session owns its queue and its QoS 2 ids: they go with it.
        st.deleteSession.run(op.clientId);
        st.deleteClientOutbound.run(op.clientId);
        st.deleteClientInbound.run(op.clientId);
        return 0;
      case 'outbound.put': {
        const e = op.entry;
        const subIds = e.subscriptionIdentifiers ? JSON.stringify(e.subscriptionIdentifiers) : null;
        const head = [e.clientId, e.seq, e.state, e.packetId ?? null, e.qos, e.retain ? 1 : 0, subIds];
        st.putOutbound.run(...head, ...messageParams(e.message));
        return e.seq;
      }
      case 'outbound.update':
        // The op carries the whole delivery state: an absent packetId clears it.
        st.updateOutbound.run(op.state, op.packetId ?? null, op.clientId, op.seq);
        return 0;
      case 'outbound.delete':
        st.deleteOutbound.run(op.clientId, op.seq);
        return 0;
      case 'inbound.put':
        st.putInbound.run(op.clientId, op.packetId);
        return 0;
      case 'inbound.delete':
        st.deleteInbound.run(op.clientId, op.packetId);
        return 0;
      case 'retained.put':
        st.putRetained.run(...messageParams(op.message));
        return 0;
      case 'retained.delete':
        st.deleteRetained.run(op.topic);
        return 0;
      default:
        throw new Error(`unknown store op ${(op as { op: string }).op}`);
    }
  }
}
