import type { Migration } from '../../store/sqlite/migrations.js';

/**
 * The ThingSpeak schema in its own file (thingspeak.db, its own PRAGMA
 * user_version). Append-only; ../postgres/migrations.ts mirrors it, except for
 * the recent entries (version 3), which only SQLite's write path has.
 * AUTOINCREMENT: a deleted channel's id is never handed out again.
 */
export const THINGSPEAK_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'thingspeak: channels, keys, entries',
    up(db) {
      db.exec(`
        CREATE TABLE thingspeak_channels (
          id                  INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id           TEXT NOT NULL,
          device_id           TEXT,
          name                TEXT NOT NULL,
          description         TEXT,
          fields              TEXT NOT NULL,
          metadata            TEXT,
          tags                TEXT NOT NULL,
          url                 TEXT,
          latitude            REAL,
          longitude           REAL,
          elevation           REAL,
          public_flag         INTEGER NOT NULL,
          min_update_interval INTEGER NOT NULL,
          created_at          INTEGER NOT NULL,
          updated_at          INTEGER NOT NULL,
          last_entry_id       INTEGER NOT NULL,
          last_update_at      INTEGER
        );
        CREATE INDEX thingspeak_channels_tenant ON thingspeak_channels (tenant_id, id);

        CREATE TABLE thingspeak_keys (
          key_hash   TEXT PRIMARY KEY,
          channel_id INTEGER NOT NULL REFERENCES thingspeak_channels (id) ON DELETE CASCADE,
          kind       TEXT NOT NULL,
          sealed     TEXT NOT NULL,
          created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX thingspeak_keys_channel ON thingspeak_keys (channel_id);

        CREATE TABLE thingspeak_entries (
          channel_id INTEGER NOT NULL REFERENCES thingspeak_channels (id) ON DELETE CASCADE,
          entry_id   INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          field1 TEXT, field2 TEXT, field3 TEXT, field4 TEXT,
          field5 TEXT, field6 TEXT, field7 TEXT, field8 TEXT,
          status     TEXT,
          latitude   REAL,
          longitude  REAL,
          elevation  REAL,
          PRIMARY KEY (channel_id, entry_id)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX thingspeak_entries_created ON thingspeak_entries (channel_id, created_at);
      `);
    },
  },
  {
    version: 2,
    description: 'thingspeak: how far each channel is mirrored into telemetry',
    up(db) {
      // Every entry so far was mirrored before its update was answered.
      db.exec(`
        ALTER TABLE thingspeak_channels ADD COLUMN mirrored_entry_id INTEGER NOT NULL DEFAULT 0;
        UPDATE thingspeak_channels SET mirrored_entry_id = last_entry_id;
      `);
    },
  },
  {
    version: 3,
    description: 'thingspeak: recent entries, appended in arrival order and folded into the entries',
    up(db) {
      // The entries' columns without their keys and index: an append dirties the last page only.
      db.exec(`
        CREATE TABLE thingspeak_recent_entries (
          seq        INTEGER PRIMARY KEY,
          channel_id INTEGER NOT NULL,
          entry_id   INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          field1 TEXT, field2 TEXT, field3 TEXT, field4 TEXT,
          field5 TEXT, field6 TEXT, field7 TEXT, field8 TEXT,
          status     TEXT,
          latitude   REAL,
          longitude  REAL,
          elevation  REAL
        );
      `);
    },
  },
];
