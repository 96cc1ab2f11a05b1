import type { Database } from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';

/**
 * One step of the SQLite schema. Steps are append-only: a released migration is
 * never edited, a change is a new step. The database records the last step it
 * has applied in PRAGMA user_version (0 for a new file).
 */
export interface Migration {
  /** 1, 2, 3, … in list order. */
  readonly version: number;
  readonly description: string;
  up(db: Database): void;
}

/**
 * The broker's steps (broker.db). A store with a file of its own keeps its own list and
 * runs it through migrate() below, e.g. the registry (registry/sqlite/migrations.ts).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'broker state: sessions, outbound queue, inbound QoS 2 ids, retained messages',
    up(db) {
      // Message columns are shared by outbound and retained: payload and correlation
      // data are BLOBs (no base64), the other MQTT 5 properties are a small JSON text.
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('max_seq', 0);

        CREATE TABLE sessions (
          client_id        TEXT PRIMARY KEY,
          expiry_interval  INTEGER NOT NULL,
          disconnected_at  INTEGER,
          protocol_version INTEGER NOT NULL,
          subscriptions    TEXT NOT NULL
        );

        CREATE TABLE outbound (
          client_id        TEXT NOT NULL,
          seq              INTEGER NOT NULL,
          state            TEXT NOT NULL,
          packet_id        INTEGER,
          qos              INTEGER NOT NULL,
          retain           INTEGER NOT NULL,
          subscription_ids TEXT,
          topic            TEXT NOT NULL,
          payload          BLOB NOT NULL,
          msg_qos          INTEGER NOT NULL,
          msg_retain       INTEGER NOT NULL,
          properties       TEXT,
          correlation_data BLOB,
          expires_at       INTEGER,
          origin           TEXT NOT NULL,
          PRIMARY KEY (client_id, seq)
        );

        CREATE TABLE inbound_qos2 (
          client_id TEXT NOT NULL,
          packet_id INTEGER NOT NULL,
          PRIMARY KEY (client_id, packet_id)
        ) WITHOUT ROWID;

        CREATE TABLE retained (
          topic            TEXT PRIMARY KEY,
          payload          BLOB NOT NULL,
          qos              INTEGER NOT NULL,
          retain           INTEGER NOT NULL,
          properties       TEXT,
          correlation_data BLOB,
          expires_at       INTEGER,
          origin           TEXT NOT NULL
        );
      `);
    },
  },
];

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the last migration. All pending steps run in one
 * IMMEDIATE transaction, so a file several versions behind jumps straight to
 * the current schema or (if any step fails) stays exactly as it was, and two
 * processes opening the same file cannot both migrate it.
 */
export function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new HalyardError('STORE_FAILURE', 'migrations must be numbered 1, 2, 3, … in order', {
        index: i,
        version: m.version,
      });
    }
  });
  const latest = migrations.length;
  const run = db.transaction(() => {
    const from = schemaVersion(db);
    if (from > latest) {
      throw new HalyardError('STORE_FAILURE', 'the database was written by a newer Halyard', {
        schemaVersion: from,
        supported: latest,
      });
    }
    for (const m of migrations.slice(from)) m.up(db);
    // user_version lives in the file header and is rolled back with the transaction.
    if (latest !== from) db.pragma(`user_version = ${latest}`);
    return { from, to: latest };
  });
  return run.immediate();
}
