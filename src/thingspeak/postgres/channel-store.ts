import type pg from 'pg';
import type { PoolClient } from 'pg';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  inTransaction,
  openMigratedPool,
  pgStoreError,
  type RegistryPool,
} from '../../registry/postgres/pool.js';
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
import { migrateThingSpeak } from './migrations.js';

export interface PostgresChannelStoreOptions {
  poolSize?: number;
  logger?: Logger;
}

const INSERT_ENTRY = `INSERT INTO thingspeak_entries (${ENTRY_COLUMNS.join(', ')})
  VALUES (${ENTRY_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
const MERGE_ENTRY = mergeEntrySql(ENTRY_COLUMNS.map((_, i) => `$${i + 1}`));
const asBool = (b: boolean) => b;

/**
 * Channels, keys and entries in PostgreSQL. Appends lock the channel row
 * (SELECT … FOR UPDATE), so concurrent writers of one channel get consecutive
 * entry ids.
 */
export class PostgresChannelStore implements ChannelStore {
  readonly dialect = 'postgres' as const;

  private constructor(private readonly connections: RegistryPool) {}

  static async open(url: string, opts: PostgresChannelStoreOptions = {}): Promise<PostgresChannelStore> {
    const connections = await openMigratedPool(
      url,
      { name: 'ThingSpeak', migrate: migrateThingSpeak },
      { size: opts.poolSize, logger: opts.logger },
    );
    return new PostgresChannelStore(connections);
  }

  private get pool(): pg.Pool {
    return this.connections.pool;
  }

  createChannel(channel: Omit<Channel, 'id'>): Promise<Channel> {
    return this.run('create a channel', async () => {
      const cols = channelColumns(channel, asBool);
      const names = Object.keys(cols);
      const { rows } = await this.pool.query<ChannelRow>(
        `INSERT INTO thingspeak_channels (${names.join(', ')})
         VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
        Object.values(cols),
      );
      return channelFromRow(rows[0]);
    });
  }

  getChannel(id: number): Promise<Channel | undefined> {
    return this.run('read a channel', () => this.channel(this.pool, id));
  }

  listChannels(filter: { tenantId?: string; tag?: string; publicOnly?: boolean }): Promise<Channel[]> {
    return this.run('list channels', async () => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.tenantId !== undefined) {
        params.push(filter.tenantId);
        where.push(`tenant_id = $${params.length}`);
      }
      if (filter.publicOnly) where.push('public_flag');
      const { rows } = await this.pool.query<ChannelRow>(
        `SELECT * FROM thingspeak_channels ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id`,
        params,
      );
      return rows.map(channelFromRow).filter((c) => hasTag(c, filter.tag));
    });
  }

  updateChannel(
    id: number,
    patch: Partial<Omit<Channel, 'id' | 'tenantId' | 'createdAt'>>,
  ): Promise<Channel | undefined> {
    return this.run('update a channel', async () => {
      const cols = channelColumns(patch, asBool);
      const names = Object.keys(cols);
      if (names.length === 0) return this.channel(this.pool, id);
      const { rows } = await this.pool.query<ChannelRow>(
        `UPDATE thingspeak_channels SET ${names.map((n, i) => `${n} = $${i + 2}`).join(', ')}
          WHERE id = $1 RETURNING *`,
        [id, ...Object.values(cols)],
      );
      return rows[0] && channelFromRow(rows[0]);
    });
  }

  deleteChannel(id: number): Promise<Channel | undefined> {
    return this.run('delete a channel', async () => {
      const { rows } = await this.pool.query<ChannelRow>(
        'DELETE FROM thingspeak_channels WHERE id = $1 RETURNING *',
        [id],
      );
      return rows[0] && channelFromRow(rows[0]);
    });
  }

  addKey(key: ChannelKey): Promise<void> {
    return this.run('add a channel key', async () => {
      try {
        await this.pool.query(
          'INSERT INTO thingspeak_keys (key_hash, channel_id, kind, sealed, created_at) VALUES ($1, $2, $3, $4, $5)',
          [key.keyHash, key.channelId, key.kind, key.sealed, key.createdAt],
        );
      } catch (err) {
        if (pgCode(err) === '23503') throw notFound(key.channelId);
        if (pgCode(err) === '23505') throw new HalyardError('CONFLICT', 'the key exists already');
        throw err;
      }
    });
  }

  listKeys(channelId: number): Promise<ChannelKey[]> {
    return this.run('list channel keys', async () => {
      const { rows } = await this.pool.query<KeyRow>(
        'SELECT * FROM thingspeak_keys WHERE channel_id = $1 ORDER BY created_at, key_hash',
        [channelId],
      );
      return rows.map(keyFromRow);
    });
  }

  findKey(keyHash: string): Promise<ChannelKey | undefined> {
    return this.run('find a channel key', async () => {
      const { rows } = await this.pool.query<KeyRow>('SELECT * FROM thingspeak_keys WHERE key_hash = $1', [
        keyHash,
      ]);
      return rows[0] && keyFromRow(rows[0]);
    });
  }

  removeKey(channelId: number, keyHash: string): Promise<boolean> {
    return this.run('remove a channel key', async () => {
      const { rowCount } = await this.pool.query(
        'DELETE FROM thingspeak_keys WHERE channel_id = $1 AND key_hash = $2',
        [channelId, keyHash],
      );
      return (rowCount ?? 0) > 0;
    });
  }

  appendGroup(items: readonly GroupAppend[]): Promise<Settled<ChannelEntry>[]> {
    return Promise.all(
      items.map((item) =>
        this.run('append an entry', async () => {
          const [entry] = await this.tx((c) => this.appendTx(c, [item.entry], item.at, item.merge));
          return { value: entry };
        }).catch((error: unknown) => ({ error })),
      ),
    );
  }

  appendEntries(entries: ReadonlyArray<Omit<ChannelEntry, 'entryId'>>, at: number): Promise<ChannelEntry[]> {
    return this.run('append entries', () => this.tx((c) => this.appendTx(c, entries, at)));
  }

  getEntry(channelId: number, entryId: number): Promise<ChannelEntry | undefined> {
    return this.run('read an entry', () =>
      this.entryRow('SELECT * FROM thingspeak_entries WHERE channel_id = $1 AND entry_id = $2', [
        channelId,
        entryId,
      ]),
    );
  }

  lastEntry(channelId: number): Promise<ChannelEntry | undefined> {
    return this.run('read the last entry', () =>
      this.entryRow('SELECT * FROM thingspeak_entries WHERE channel_id = $1 ORDER BY entry_id DESC LIMIT 1', [
        channelId,
      ]),
    );
  }

  lastFieldEntry(channelId: number, field: number): Promise<ChannelEntry | undefined> {
    return this.run('read the last field entry', () => {
      const col = fieldColumn(field);
      return this.entryRow(
        `SELECT * FROM thingspeak_entries WHERE channel_id = $1 AND ${col} IS NOT NULL
          ORDER BY entry_id DESC LIMIT 1`,
        [channelId],
      );
    });
  }

  entries(q: EntryQuery): Promise<ChannelEntry[]> {
    return this.run('read entries', async () => {
      const { rows } = await this.pool.query<EntryRow>(
        `SELECT * FROM (SELECT * FROM thingspeak_entries
            WHERE channel_id = $1 AND created_at >= $2 AND created_at <= $3
            ORDER BY entry_id DESC LIMIT $4) AS newest
          ORDER BY entry_id`,
        [
          q.channelId,
          q.from ?? Number.MIN_SAFE_INTEGER,
          q.to ?? Number.MAX_SAFE_INTEGER,
          Math.max(0, Math.floor(q.limit)),
        ],
      );
      return rows.map(entryFromRow);
    });
  }

  clearEntries(channelId: number): Promise<void> {
    return this.run('clear entries', () =>
      this.tx(async (c) => {
        await c.query('SELECT id FROM thingspeak_channels WHERE id = $1 FOR UPDATE', [channelId]);
        await c.query('DELETE FROM thingspeak_entries WHERE channel_id = $1', [channelId]);
        await c.query(
          'UPDATE thingspeak_channels SET last_entry_id = 0, mirrored_entry_id = 0 WHERE id = $1',
          [channelId],
        );
      }),
    );
  }

  markMirrored(marks: ReadonlyMap<number, number>): Promise<void> {
    return this.run('mark mirrored entries', async () => {
      await this.pool.query(
        `UPDATE thingspeak_channels AS c
            SET mirrored_entry_id = GREATEST(c.mirrored_entry_id, LEAST(m.entry_id, c.last_entry_id))
           FROM unnest($1::bigint[], $2::bigint[]) AS m (id, entry_id)
          WHERE c.id = m.id`,
        [[...marks.keys()], [...marks.values()]],
      );
    });
  }

  unmirroredEntries(limit: number): Promise<ChannelEntry[]> {
    return this.run('read unmirrored entries', async () => {
      const { rows } = await this.pool.query<EntryRow>(`${UNMIRRORED_ENTRIES} $1`, [
        Math.max(0, Math.floor(limit)),
      ]);
      return rows.map(entryFromRow);
    });
  }

  close(): Promise<void> {
    return this.connections.end();
  }

  private async appendTx(
    c: PoolClient,
    entries: ReadonlyArray<Omit<ChannelEntry, 'entryId'>>,
    at: number,
    merge = false,
  ): Promise<ChannelEntry[]> {
    const out: ChannelEntry[] = [];
    const last = new Map<number, number>();
    for (const e of entries) {
      let previous = last.get(e.channelId);
      if (previous === undefined) {
        const { rows } = await c.query<{ last_entry_id: number }>(
          'SELECT last_entry_id FROM thingspeak_channels WHERE id = $1 FOR UPDATE',
          [e.channelId],
        );
        if (rows.length === 0) throw notFound(e.channelId);
        previous = Number(rows[0].last_entry_id);
      }
      const entryId = previous + 1;
      if (merge) {
        const { rows } = await c.query<EntryRow>(MERGE_ENTRY, entryValues(e, entryId));
        const stored = entryFromRow(rows[0]);
        out.push(stored);
        if (stored.entryId === entryId) last.set(e.channelId, entryId);
        continue;
      }
      try {
        await c.query(INSERT_ENTRY, entryValues(e, entryId));
      } catch (err) {
        if (pgCode(err) === '23505') {
          throw new HalyardError(
            'CONFLICT',
            'created_at is already used in this channel',
            duplicateCreatedAt(e.createdAt),
          );
        }
        throw err;
      }
      last.set(e.channelId, entryId);
      out.push({ ...e, fields: normalFields(e.fields), entryId });
    }
    for (const [id, lastEntryId] of last) {
      await c.query('UPDATE thingspeak_channels SET last_entry_id = $1, last_update_at = $2 WHERE id = $3', [
        lastEntryId,
        at,
        id,
      ]);
    }
    return out;
  }

  private async channel(q: pg.Pool | PoolClient, id: number): Promise<Channel | undefined> {
    const { rows } = await q.query<ChannelRow>('SELECT * FROM thingspeak_channels WHERE id = $1', [id]);
    return rows[0] && channelFromRow(rows[0]);
  }

  private async entryRow(sql: string, params: unknown[]): Promise<ChannelEntry | undefined> {
    const { rows } = await this.pool.query<EntryRow>(sql, params);
    return rows[0] && entryFromRow(rows[0]);
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>, mode = ''): Promise<T> {
    return inTransaction(this.pool, fn, mode);
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw pgStoreError(`could not ${what}`, err);
    }
  }
}

function pgCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function notFound(channelId: number): HalyardError {
  return new HalyardError('NOT_FOUND', `channel ${channelId} does not exist`, { channelId });
}
