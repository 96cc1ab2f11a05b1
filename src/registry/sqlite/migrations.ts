import type { Migration } from '../../store/sqlite/migrations.js';

/**
 * The registry's SQLite schema, in its own file (registry.db) and so with its
 * own PRAGMA user_version; the steps run through the broker store's runner
 * (store/sqlite/migrations.ts). Append-only: a change is a new step. The
 * PostgreSQL schema (../postgres/migrations.ts) keeps the same steps and columns.
 *
 * Times are INTEGER milliseconds; ACLs, tags, labels, limits and details JSON text.
 */
export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'registry people: tenants, users, browser sessions, API tokens',
    up(db) {
      db.exec(`
        CREATE TABLE tenants (
          id              TEXT PRIMARY KEY,
          name            TEXT NOT NULL,
          max_connections INTEGER NOT NULL,
          created_at      INTEGER NOT NULL
        );

        CREATE TABLE users (
          id            TEXT PRIMARY KEY,
          username      TEXT NOT NULL UNIQUE,
          tenant_id     TEXT REFERENCES tenants (id),
          role          TEXT NOT NULL,
          password_hash TEXT NOT NULL,
          active        INTEGER NOT NULL,
          created_at    INTEGER NOT NULL,
          updated_at    INTEGER NOT NULL
        );
        CREATE INDEX users_tenant ON users (tenant_id);

        CREATE TABLE user_sessions (
          token_hash TEXT PRIMARY KEY,
          user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          address    TEXT
        );
        CREATE INDEX user_sessions_user ON user_sessions (user_id);
        CREATE INDEX user_sessions_expires ON user_sessions (expires_at);

        CREATE TABLE api_tokens (
          id           TEXT PRIMARY KEY,
          user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          name         TEXT NOT NULL,
          token_hash   TEXT NOT NULL UNIQUE,
          created_at   INTEGER NOT NULL,
          expires_at   INTEGER,
          revoked_at   INTEGER,
          last_used_at INTEGER
        );
        CREATE INDEX api_tokens_user ON api_tokens (user_id);
      `);
    },
  },
  {
    version: 2,
    description: 'registry devices: profiles, devices, credentials, tenant CAs',
    up(db) {
      db.exec(`
        CREATE TABLE device_profiles (
          id          TEXT PRIMARY KEY,
          tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          name        TEXT NOT NULL,
          description TEXT NOT NULL,
          acl         TEXT NOT NULL,
          limits      TEXT NOT NULL,
          created_at  INTEGER NOT NULL,
          updated_at  INTEGER NOT NULL
        );
        CREATE INDEX device_profiles_tenant ON device_profiles (tenant_id);

        CREATE TABLE devices (
          id         TEXT PRIMARY KEY,
          tenant_id  TEXT NOT NULL REFERENCES tenants (id),
          name       TEXT NOT NULL,
          profile_id TEXT REFERENCES device_profiles (id),
          type       TEXT NOT NULL,
          serial     TEXT,
          tags       TEXT NOT NULL,
          labels     TEXT NOT NULL,
          acl        TEXT NOT NULL,
          active     INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          last_seen  INTEGER
        );
        CREATE INDEX devices_tenant ON devices (tenant_id, id);
        CREATE INDEX devices_profile ON devices (profile_id);

        CREATE TABLE credentials (
          id         TEXT PRIMARY KEY,
          device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
          tenant_id  TEXT NOT NULL,
          kind       TEXT NOT NULL,
          lookup     TEXT NOT NULL,
          secret     TEXT,
          label      TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER,
          revoked_at INTEGER
        );
        CREATE INDEX credentials_device ON credentials (device_id, created_at);
        CREATE INDEX credentials_lookup ON credentials (kind, lookup) WHERE revoked_at IS NULL;
        -- A token or certificate names one credential; passwords and hmac secrets overlap while rotating.
        CREATE UNIQUE INDEX credentials_unique_lookup ON credentials (kind, lookup)
          WHERE revoked_at IS NULL AND kind IN ('token', 'certificate');

        CREATE TABLE tenant_cas (
          id             TEXT PRIMARY KEY,
          tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          cert_pem       TEXT NOT NULL,
          fingerprint256 TEXT NOT NULL,
          subject        TEXT NOT NULL,
          created_at     INTEGER NOT NULL,
          UNIQUE (tenant_id, fingerprint256)
        );
      `);
    },
  },
  {
    version: 3,
    description: 'registry audit log',
    up(db) {
      // AUTOINCREMENT: ids are never reused, so paging backwards by id stays exact.
      db.exec(`
        CREATE TABLE audit_log (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          at         INTEGER NOT NULL,
          tenant_id  TEXT,
          actor_type TEXT NOT NULL,
          actor      TEXT NOT NULL,
          action     TEXT NOT NULL,
          target     TEXT,
          address    TEXT,
          outcome    TEXT NOT NULL,
          details    TEXT NOT NULL
        );
        CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
        CREATE INDEX audit_log_at ON audit_log (at);
      `);
    },
  },
  {
    version: 4,
    description: 'tenant telemetry retention',
    up(db) {
      // Existing tenants keep everything (0) and have no per-key overrides.
      db.exec(`
        ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tenants ADD COLUMN key_retention_days TEXT NOT NULL DEFAULT '{}';
      `);
    },
  },
  {
    version: 5,
    description: 'TOTP second factor of people',
    up(db) {
      // All NULL: no second factor. A secret without confirmed_at is a pending enrolment.
      db.exec(`
        ALTER TABLE users ADD COLUMN totp_secret TEXT;
        ALTER TABLE users ADD COLUMN totp_created_at INTEGER;
        ALTER TABLE users ADD COLUMN totp_confirmed_at INTEGER;
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
      `);
    },
  },
];
