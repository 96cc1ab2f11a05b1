import type Database from 'better-sqlite3';
import { HalyardError, isHalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Channel, ChannelEntry, ChannelKey } from '../model.js';
import {
  channelColumns,
  channelFromRow,
  duplicateCreatedAt,
  ENTRY_COLUMNS,
  entryFromRow,
  entryValues,
  fieldColumn,
  hasTag,
  mergeEntrySql,
  keyFromRow,
  normalFields,
  UNMIRRORED_ENTRIES,
  type ChannelRow,
  type EntryRow,
  type KeyRow,
} from '../sql/rows.js';
import type { Settled } from '../group-commit.js';
import type { ChannelStore, EntryQuery, GroupAppend } from '../store.js';
import { THINGSPEAK_MIGRATIONS } from './migrations.js';
import { SqliteFile } from '../../store/sqlite/sqlite-file.js';
import { sqliteStoreError } from '../../store/sqlite/open-database.js';
import { FailureStreak } from '../../store/failure-streak.js';

export interface SqliteChannelStoreOptions {
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  logger?: Logger;
  /** Recent entries are folded into the entries once this many wait (and before any read of entries). */
  foldAtEntries?: number;
}

const toInt = (b: boolean) => (b ? 1 : 0);
const INSERT_ENTRY = `INSERT INTO thingspeak_entries (${ENTRY_COLUMNS.join(', ')})
  VALUES (${ENTRY_COLUMNS.map(() => '?').join(', ')})`;

const MERGE_ENTRY = mergeEntrySql(ENTRY_COLUMNS.map(() => '?'));
const INSERT_RECENT = INSERT_ENTRY.replace('thingspeak_entries', 'thingspeak_recent_entries');
// In key order, so the entries' pages are each written once.
const FOLD_RECENT = `INSERT INTO thingspeak_entries (${ENTRY_COLUMNS.join(', ')})
  SELECT ${ENTRY_COLUMNS.join(', ')} FROM thingspeak_recent_entries ORDER BY channel_id, entry_id`;
const NEWEST_CREATED_AT = `SELECT max(newest) FROM (
    SELECT max(created_at) AS newest FROM thingspeak_entries WHERE channel_id = @id
    UNION ALL SELECT max(created_at) FROM thingspeak_recent_entries WHERE channel_id = @id)`;
const MARK_MIRRORED = `UPDATE thingspeak_channels
    SET mirrored_entry_id = MAX(mirrored_entry_id, MIN(?, last_entry_id)) WHERE id = ?`;

/**
 * Channels, keys and entries in one SQLite file (WAL); each method is one
 * synchronous transaction.
 *
 * Recent entries: an append whose created_at is later than every other entry
 * of its channel (nearly all of them) goes into thingspeak_recent_entries, in
 * arrival order, instead of into the entries. A group of updates to many
 * channels then dirties one page of that table rather than a page of the
 * entries and one of their created_at index per channel, which is most of a
 * commit's cost (in plain SQL on this schema, 64-entry groups over 16
 * channels: 17.5 µs an entry that way, ~7 written and folded; through the
 * store, bench/channel-store.ts). Such an append
 * cannot collide: its created_at is new, and its entry id the channel's next.
 * The recent entries are folded into the entries, in key order, in one
 * transaction once `foldAtEntries` wait, before any read of entries (so every
 * query reads one table), at open (what a crash left), and before an append
 * that is not the latest of its channel (its conflict or merge must find every
 * entry).
 */
export class SqliteChannelStore implements ChannelStore {
  readonly dialect = 'sqlite' as const;

  private readonly db: Database.Database;
  private readonly foldAtEntries: number;
  /** Per channel looked up: its latest created_at (-Infinity with no entry). */
  private readonly newestCreatedAt = new Map<number, number>();
  /** Rows in thingspeak_recent_entries. */
  private recentEntries = 0;
  private readonly folds: FailureStreak;

  private constructor(
    private readonly file: SqliteFile,
    opts: SqliteChannelStoreOptions,
  ) {
    this.db = file.db;
    this.foldAtEntries = opts.foldAtEntries ?? 4096;
    this.folds = new FailureStreak(
      opts.logger,
      'could not fold recent channel entries; retrying',
      'recent channel entries fold again',
    );
    this.resetWriteState();
    this.foldRecent();
  }

  static open(path: string, opts: SqliteChannelStoreOptions = {}): SqliteChannelStore {
    const file = SqliteFile.open(
      path,
      { name: 'ThingSpeak', migrations: THINGSPEAK_MIGRATIONS, foreignKeys: true },
      opts,
    );
    try {
      return new SqliteChannelStore(file, opts);
    } catch (err) {
      void file.close();
      throw sqliteStoreError('could not fold recent entries', path, err);
    }
  }

  createChannel(channel: Omit<Channel, 'id'>): Promise<Channel> {
    return this.file.write('create a channel', () => {
      const cols = channelColumns(channel, toInt);
      const names = Object.keys(cols);
      const row = this.file
        .statement(
          `INSERT INTO thingspeak_channels (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})
         RETURNING *`,
        )
        .get(cols) as ChannelRow;
      return channelFromRow(row);
    });
  }

  getChannel(id: number): Promise<Channel | undefined> {
    return this.file.run('read a channel', () => this.channel(id));
  }

  listChannels(filter: { tenantId?: string; tag?: string; publicOnly?: boolean }): Promise<Channel[]> {
    return this.file.run('list channels', () => {
      const where: string[] = [];
      if (filter.tenantId !== undefined) where.push('tenant_id = @tenant');
      if (filter.publicOnly) where.push('public_flag = 1');
      const rows = this.file
        .statement(
          `SELECT * FROM thingspeak_channels ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id`,
        )
        .all(filter.tenantId !== undefined ? { tenant: filter.tenantId } : {}) as ChannelRow[];
      return rows.map(channelFromRow).filter((c) => hasTag(c, filter.tag));
    });
  }

  updateChannel(
    id: number,
    patch: Partial<Omit<Channel, 'id' | 'tenantId' | 'createdAt'>>,
  ): Promise<Channel | undefined> {
    return this.file.write('update a channel', () => {
      const cols = channelColumns(patch, toInt);
      const names = Object.keys(cols);
      if (names.length === 0) return this.channel(id);
      const row = this.file
        .statement(
          `UPDATE thingspeak_channels SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = @id RETURNING *`,
        )
        .get({ ...cols, id }) as ChannelRow | undefined;
      return row && channelFromRow(row);
    });
  }

  deleteChannel(id: number): Promise<Channel | undefined> {
    return this.file.write('delete a channel', () =>
      this.transaction(() => {
        this.foldRecent(); // its entries go with it (ON DELETE CASCADE)
        this.newestCreatedAt.delete(id);
        const row = this.file
          .statement('DELETE FROM thingspeak_channels WHERE id = ? RETURNING *')
          .get(id) as ChannelRow | undefined;
        return row && channelFromRow(row);
      }),
    );
  }

  addKey(key: ChannelKey): Promise<void> {
    return this.file.write('add a channel key', () => {
      try {
        this.file
          .statement(
            `INSERT INTO thingspeak_keys (key_hash, channel_id, kind, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
          )
          .run(key.keyHash, key.channelId, key.kind, key.sealed, key.createdAt);
      } catch (err) {
        if (isConstraint(err, 'FOREIGNKEY')) throw notFound(key.channelId);
        if (isConstraint(err, 'PRIMARYKEY')) throw new HalyardError('CONFLICT', 'the key exists already');
        throw err;
      }
    });
  }

  listKeys(channelId: number): Promise<ChannelKey[]> {
    return this.file.run('list channel keys', () =>
      (
        this.file
          .statement('SELECT * FROM thingspeak_keys WHERE channel_id = ? ORDER BY created_at, key_hash')
          .all(channelId) as KeyRow[]
      ).map(keyFromRow),
    );
  }

  findKey(keyHash: string): Promise<ChannelKey | undefined> {
    return this.file.run('find a channel key', () => {
      const row = this.file.statement('SELECT * FROM thingspeak_keys WHERE key_hash = ?').get(keyHash) as
        KeyRow | undefined;
      return row && keyFromRow(row);
    });
  }

  removeKey(channelId: number, keyHash: string): Promise<boolean> {
    return this.file.write(
      'remove a channel key',
      () =>
        this.file
          .statement('DELETE FROM thingspeak_keys WHERE channel_id = ? AND key_hash = ?')
          .run(channelId, keyHash).changes > 0,
    );
  }

  /**
   * One transaction for the group. An append that fails for its own reason (a
   * created_at taken, a channel gone) fails alone: its one statement is undone
   * by SQLite and the others go on; any other failure undoes the group.
   */
  appendGroup(items: readonly GroupAppend[]): Promise<Settled<ChannelEntry>[]> {
    return this.file.write('append entries', () =>
      this.appendAll(items, (item, last): Settled<ChannelEntry> => {
        try {
          return { value: this.appendOne(item.entry, item.at, last, item.merge) };
        } catch (error) {
          if (isHalyardError(error, 'CONFLICT') || isHalyardError(error, 'NOT_FOUND')) return { error };
          throw error;
        }
      }),
    );
  }

  appendEntries(entries: ReadonlyArray<Omit<ChannelEntry, 'entryId'>>, at: number): Promise<ChannelEntry[]> {
    return this.file.write('append entries', () =>
      this.appendAll(entries, (e, last) => this.appendOne(e, at, last, false)),
    );
  }

  getEntry(channelId: number, entryId: number): Promise<ChannelEntry | undefined> {
    return this.reading('read an entry', () =>
      this.entryRow(
        'SELECT * FROM thingspeak_entries WHERE channel_id = ? AND entry_id = ?',
        channelId,
        entryId,
      ),
    );
  }

  lastEntry(channelId: number): Promise<ChannelEntry | undefined> {
    return this.reading('read the last entry', () =>
      this.entryRow(
        'SELECT * FROM thingspeak_entries WHERE channel_id = ? ORDER BY entry_id DESC LIMIT 1',
        channelId,
      ),
    );
  }

  lastFieldEntry(channelId: number, field: number): Promise<ChannelEntry | undefined> {
    return this.reading('read the last field entry', () => {
      const col = fieldColumn(field);
      return this.entryRow(
        `SELECT * FROM thingspeak_entries WHERE channel_id = ? AND ${col} IS NOT NULL
          ORDER BY entry_id DESC LIMIT 1`,
        channelId,
      );
    });
  }

  entries(q: EntryQuery): Promise<ChannelEntry[]> {
    return this.reading('read entries', () => {
      const rows = this.file
        .statement(
          `SELECT * FROM (SELECT * FROM thingspeak_entries
            WHERE channel_id = @channel AND created_at >= @from AND created_at <= @to
            ORDER BY entry_id DESC LIMIT @limit)
          ORDER BY entry_id`,
        )
        .all({
          channel: q.channelId,
          from: q.from ?? Number.MIN_SAFE_INTEGER,
          to: q.to ?? Number.MAX_SAFE_INTEGER,
          limit: Math.max(0, Math.floor(q.limit)),
        }) as EntryRow[];
      return rows.map(entryFromRow);
    });
  }

  clearEntries(channelId: number): Promise<void> {
    return this.file.write('clear entries', () =>
      this.transaction(() => {
        this.foldRecent();
        this.newestCreatedAt.delete(channelId);
        this.file.statement('DELETE FROM thingspeak_entries WHERE channel_id = ?').run(channelId);
        this.file
          .statement('UPDATE thingspeak_channels SET last_entry_id = 0, mirrored_entry_id = 0 WHERE id = ?')
          .run(channelId);
      }),
    );
  }

  markMirrored(marks: ReadonlyMap<number, number>): Promise<void> {
    // Committed without waiting for the disk: see the interface.
    return this.file.run('mark mirrored entries', () =>
      this.db
        .transaction(() => {
          const mark = this.file.statement(MARK_MIRRORED);
          for (const [id, entryId] of marks) mark.run(entryId, id);
        })
        .immediate(),
    );
  }

  unmirroredEntries(limit: number): Promise<ChannelEntry[]> {
    return this.reading('read unmirrored entries', () =>
      (this.file.statement(`${UNMIRRORED_ENTRIES} ?`).all(Math.max(0, Math.floor(limit))) as EntryRow[]).map(
        entryFromRow,
      ),
    );
  }

  close(): Promise<void> {
    return this.file.close();
  }

  /**
   * One transaction: `append` for each item, then each channel's new last
   * entry saved once; then a fold if enough recent entries wait.
   */
  private appendAll<T, R>(items: readonly T[], append: (item: T, last: LastEntries) => R): R[] {
    const results = this.transaction(() => {
      const last: LastEntries = new Map();
      const appended = items.map((item) => append(item, last));
      this.saveLastEntries(last);
      return appended;
    });
    if (this.recentEntries >= this.foldAtEntries) this.foldAfterAppend();
    return results;
  }

  /**
   * The appends are committed whether or not their fold is: a fold that fails
   * is logged and tried again after the next group (the recent entries stay
   * readable, since a read folds first, or fails with the reason).
   */
  private foldAfterAppend(): void {
    try {
      this.foldRecent();
      this.folds.succeeded();
    } catch (err) {
      this.folds.failed(err);
    }
  }

  /** Moves the recent entries into the entries (in a transaction of its own, or in the caller's). */
  private foldRecent(): void {
    if (this.recentEntries === 0) return;
    this.transaction(() => {
      this.file.statement(FOLD_RECENT).run();
      this.file.statement('DELETE FROM thingspeak_recent_entries').run();
      this.recentEntries = 0;
    });
  }

  /** A read of entries: the recent ones are folded first, so that it reads one table. */
  private reading<T>(what: string, read: () => T): Promise<T> {
    return this.file.run(what, () => {
      this.foldRecent();
      return read();
    });
  }

  /**
   * A write transaction (a savepoint inside another). What the store keeps of
   * the file in memory is read again when one fails: SQLite has undone it.
   */
  private transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (!this.db.inTransaction) this.resetWriteState();
      throw err;
    }
  }

  private resetWriteState(): void {
    this.newestCreatedAt.clear();
    this.recentEntries = this.file
      .statement('SELECT count(*) FROM thingspeak_recent_entries')
      .pluck()
      .get() as number;
  }

  /** The channel's latest created_at, looked up once. */
  private newestOf(channelId: number): number {
    let newest = this.newestCreatedAt.get(channelId);
    if (newest === undefined) {
      const found = this.file.statement(NEWEST_CREATED_AT).pluck().get({ id: channelId }) as number | null;
      newest = found ?? -Infinity;
      this.newestCreatedAt.set(channelId, newest);
    }
    return newest;
  }

  /** Appends (or merges) one entry after the channel's last one, as `last` knows it. */
  private appendOne(
    e: Omit<ChannelEntry, 'entryId'>,
    at: number,
    last: LastEntries,
    merge: boolean,
  ): ChannelEntry {
    let previous = last.get(e.channelId)?.entryId;
    if (previous === undefined) {
      const row = this.file
        .statement('SELECT last_entry_id FROM thingspeak_channels WHERE id = ?')
        .pluck()
        .get(e.channelId) as number | undefined;
      if (row === undefined) throw notFound(e.channelId);
      previous = row;
    }
    const entryId = previous + 1;
    const latest = e.createdAt > this.newestOf(e.channelId);
    // Not the channel's latest: the entry it meets (conflict or merge) may still be recent.
    if (!latest) this.foldRecent();
    if (merge && !latest) {
      const stored = entryFromRow(
        this.file.statement(MERGE_ENTRY).get(...entryValues(e, entryId)) as EntryRow,
      );
      if (stored.entryId === entryId) last.set(e.channelId, { entryId, at });
      return stored;
    }
    try {
      this.file.statement(latest ? INSERT_RECENT : INSERT_ENTRY).run(...entryValues(e, entryId));
    } catch (err) {
      if (isConstraint(err, 'UNIQUE') || isConstraint(err, 'PRIMARYKEY')) {
        throw new HalyardError(
          'CONFLICT',
          'created_at is already used in this channel',
          duplicateCreatedAt(e.createdAt),
        );
      }
      throw err;
    }
    if (latest) {
      this.recentEntries++;
      this.newestCreatedAt.set(e.channelId, e.createdAt);
    }
    last.set(e.channelId, { entryId, at });
    // Built field by field: a spread of `e` was 40% of this method's own time in a profile under `/update`.
    return {
      channelId: e.channelId,
      entryId,
      createdAt: e.createdAt,
      fields: normalFields(e.fields),
      status: e.status,
      latitude: e.latitude,
      longitude: e.longitude,
      elevation: e.elevation,
    };
  }

  /** Each channel appended to gets its new last entry id and the time of that append. */
  private saveLastEntries(last: LastEntries): void {
    for (const [id, { entryId, at }] of last) {
      this.file
        .statement('UPDATE thingspeak_channels SET last_entry_id = ?, last_update_at = ? WHERE id = ?')
        .run(entryId, at, id);
    }
  }

  private channel(id: number): Channel | undefined {
    const row = this.file.statement('SELECT * FROM thingspeak_channels WHERE id = ?').get(id) as
      ChannelRow | undefined;
    return row && channelFromRow(row);
  }

  private entryRow(sql: string, ...params: unknown[]): ChannelEntry | undefined {
    const row = this.file.statement(sql).get(...params) as EntryRow | undefined;
    return row && entryFromRow(row);
  }
}

/** Per channel appended to in a transaction: its new last entry id and the time of that append. */
type LastEntries = Map<number, { entryId: number; at: number }>;

function isConstraint(err: unknown, kind: string): boolean {
  return (err as { code?: string } | null)?.code === `SQLITE_CONSTRAINT_${kind}`;
}

function notFound(channelId: number): HalyardError {
  return new HalyardError('NOT_FOUND', `channel ${channelId} does not exist`, { channelId });
}
