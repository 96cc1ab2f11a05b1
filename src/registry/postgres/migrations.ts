import type { ClientBase, Pool } from 'pg';
import { migratePostgres as runMigrations, type PgMigration } from '../../store/postgres-migrate.js';

/**
 * The registry's PostgreSQL steps. Append-only, like the SQLite steps
 * (../sqlite/migrations.ts), whose tables and columns these mirror with
 * BIGINT millisecond times, BOOLEAN and JSONB. Ids and the keys that refer to
 * them are COLLATE "C": they sort and compare byte by byte, as in SQLite,
 * whatever the database's locale.
 */

const sql =
  (text: string) =>
  (client: ClientBase): Promise<unknown> =>
    client.query(text);

export const REGISTRY_PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'registry people: tenants, users, browser sessions, API tokens',
    up: sql(`
      CREATE TABLE tenants (
        id              TEXT COLLATE "C" CONSTRAINT tenants_pkey PRIMARY KEY,
        name            TEXT NOT NULL,
        max_connections INTEGER NOT NULL,
        created_at      BIGINT NOT NULL
      );

      CREATE TABLE users (
        id            TEXT COLLATE "C" CONSTRAINT users_pkey PRIMARY KEY,
        username      TEXT NOT NULL CONSTRAINT users_username_key UNIQUE,
        tenant_id     TEXT COLLATE "C" CONSTRAINT users_tenant_fkey REFERENCES tenants (id),
        role          TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        active        BOOLEAN NOT NULL,
        created_at    BIGINT NOT NULL,
        updated_at    BIGINT NOT NULL
      );
      CREATE INDEX users_tenant ON users (tenant_id);

      CREATE TABLE user_sessions (
        token_hash TEXT COLLATE "C" CONSTRAINT user_sessions_pkey PRIMARY KEY,
        user_id    TEXT COLLATE "C" NOT NULL
                   CONSTRAINT user_sessions_user_fkey REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        address    TEXT
      );
      CREATE INDEX user_sessions_user ON user_sessions (user_id);
      CREATE INDEX user_sessions_expires ON user_sessions (expires_at);

      CREATE TABLE api_tokens (
        id           TEXT COLLATE "C" CONSTRAINT api_tokens_pkey PRIMARY KEY,
        user_id      TEXT COLLATE "C" NOT NULL
                     CONSTRAINT api_tokens_user_fkey REFERENCES users (id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        token_hash   TEXT COLLATE "C" NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE,
        created_at   BIGINT NOT NULL,
        expires_at   BIGINT,
        revoked_at   BIGINT,
        last_used_at BIGINT
      );
      CREATE INDEX api_tokens_user ON api_tokens (user_id);
    `),
  },
  {
    version: 2,
    description: 'registry devices: profiles, devices, credentials, tenant CAs',
    up: sql(`
      CREATE TABLE device_profiles (
        id          TEXT COLLATE "C" CONSTRAINT device_profiles_pkey PRIMARY KEY,
        tenant_id   TEXT COLLATE "C" NOT NULL
                    CONSTRAINT device_profiles_tenant_fkey REFERENCES tenants (id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        description TEXT NOT NULL,
        acl         JSONB NOT NULL,
        limits      JSONB NOT NULL,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL
      );
      CREATE INDEX device_profiles_tenant ON device_profiles (tenant_id);

      CREATE TABLE devices (
        id         TEXT COLLATE "C" CONSTRAINT devices_pkey PRIMARY KEY,
        tenant_id  TEXT COLLATE "C" NOT NULL CONSTRAINT devices_tenant_fkey REFERENCES tenants (id),
        name       TEXT NOT NULL,
        profile_id TEXT COLLATE "C" CONSTRAINT devices_profile_fkey REFERENCES device_profiles (id),
        type       TEXT NOT NULL,
        serial     TEXT,
        tags       JSONB NOT NULL,
        labels     JSONB NOT NULL,
        acl        JSONB NOT NULL,
        active     BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_seen  BIGINT
      );
      CREATE INDEX devices_tenant ON devices (tenant_id, id);
      CREATE INDEX devices_profile ON devices (profile_id);
      CREATE INDEX devices_tags ON devices USING GIN (tags jsonb_path_ops);

      CREATE TABLE credentials (
        id         TEXT COLLATE "C" CONSTRAINT credentials_pkey PRIMARY KEY,
        device_id  TEXT COLLATE "C" NOT NULL
                   CONSTRAINT credentials_device_fkey REFERENCES devices (id) ON DELETE CASCADE,
        tenant_id  TEXT COLLATE "C" NOT NULL,
        kind       TEXT NOT NULL,
        lookup     TEXT NOT NULL,
        secret     TEXT,
        label      TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX credentials_device ON credentials (device_id, created_at);
      CREATE INDEX credentials_lookup ON credentials (kind, lookup) WHERE revoked_at IS NULL;
      -- A token or certificate names one credential; passwords and hmac secrets overlap while rotating.
      CREATE UNIQUE INDEX credentials_unique_lookup ON credentials (kind, lookup)
        WHERE revoked_at IS NULL AND kind IN ('token', 'certificate');

      CREATE TABLE tenant_cas (
        id             TEXT COLLATE "C" CONSTRAINT tenant_cas_pkey PRIMARY KEY,
        tenant_id      TEXT COLLATE "C" NOT NULL
                       CONSTRAINT tenant_cas_tenant_fkey REFERENCES tenants (id) ON DELETE CASCADE,
        cert_pem       TEXT NOT NULL,
        fingerprint256 TEXT NOT NULL,
        subject        TEXT NOT NULL,
        created_at     BIGINT NOT NULL,
        CONSTRAINT tenant_cas_fingerprint_key UNIQUE (tenant_id, fingerprint256)
      );
    `),
  },
  {
    version: 3,
    description: 'registry audit log',
    up: sql(`
      CREATE TABLE audit_log (
        id         BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_log_pkey PRIMARY KEY,
        at         BIGINT NOT NULL,
        tenant_id  TEXT COLLATE "C",
        actor_type TEXT NOT NULL,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT,
        address    TEXT,
        outcome    TEXT NOT NULL,
        details    JSONB NOT NULL
      );
      CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
      CREATE INDEX audit_log_at ON audit_log (at);
    `),
  },
  {
    version: 4,
    description: 'tenant telemetry retention',
    // Existing tenants keep everything (0) and have no per-key overrides.
    up: sql(`
      ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tenants ADD COLUMN key_retention_days JSONB NOT NULL DEFAULT '{}';
    `),
  },
  {
    version: 5,
    description: 'TOTP second factor of people',
    // All NULL: no second factor. A secret without confirmed_at is a pending enrolment.
    up: sql(`
      ALTER TABLE users ADD COLUMN totp_secret TEXT;
      ALTER TABLE users ADD COLUMN totp_created_at BIGINT;
      ALTER TABLE users ADD COLUMN totp_confirmed_at BIGINT;
      ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
    `),
  },
];

/** The record field behind each named unique or foreign-key constraint above, for CONFLICT and NOT_FOUND. */
export const CONSTRAINT_FIELDS: Readonly<Record<string, string>> = {
  users_username_key: 'username',
  user_sessions_pkey: 'tokenHash',
  api_tokens_token_hash_key: 'tokenHash',
  credentials_unique_lookup: 'lookup',
  tenant_cas_fingerprint_key: 'fingerprint256',
  users_tenant_fkey: 'tenantId',
  device_profiles_tenant_fkey: 'tenantId',
  devices_tenant_fkey: 'tenantId',
  devices_profile_fkey: 'profileId',
  tenant_cas_tenant_fkey: 'tenantId',
  credentials_device_fkey: 'deviceId',
  user_sessions_user_fkey: 'userId',
  api_tokens_user_fkey: 'userId',
};

export type { PgMigration };

/** The registry's steps, recorded in halyard_schema_migrations. */
export function migratePostgres(
  pool: Pool,
  migrations: readonly PgMigration[] = REGISTRY_PG_MIGRATIONS,
): Promise<{ from: number; to: number; applied: number[] }> {
  return runMigrations(pool, migrations, 'halyard_schema_migrations');
}
