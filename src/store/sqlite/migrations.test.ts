import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isHalyardError } from '../../core/errors.js';
import { MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations.js';

function tables(db: Database.Database): string[] {
  const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all();
  return (rows as { name: string }[]).map((r) => r.name);
}

function step(version: number, table: string, fail = false): Migration {
  return {
    version,
    description: `create ${table}`,
    up(db) {
      db.exec(`CREATE TABLE ${table} (x)`);
      if (fail) throw new Error('step failed');
    },
  };
}

describe('sqlite migrations', () => {
  it('brings a new database to the latest version, and then does nothing', () => {
    const db = new Database(':memory:');
    assert.deepEqual(migrate(db), { from: 0, to: MIGRATIONS.length });
    assert.deepEqual(tables(db), ['inbound_qos2', 'meta', 'outbound', 'retained', 'sessions']);
    assert.deepEqual(migrate(db), { from: MIGRATIONS.length, to: MIGRATIONS.length });
    db.close();
  });

  it('runs only the pending steps, in order, jumping several versions at once', () => {
    const db = new Database(':memory:');
    migrate(db, [step(1, 'a')]);
    const ran: number[] = [];
    const later = [step(1, 'a'), step(2, 'b'), step(3, 'c'), step(4, 'd')].map((m) => ({
      ...m,
      up: (d: Database.Database) => (ran.push(m.version), m.up(d)),
    }));
    assert.deepEqual(migrate(db, later), { from: 1, to: 4 });
    assert.deepEqual(ran, [2, 3, 4]);
    assert.deepEqual(tables(db), ['a', 'b', 'c', 'd']);
    assert.equal(schemaVersion(db), 4);
    db.close();
  });

  it('leaves the database untouched when any pending step fails', () => {
    const db = new Database(':memory:');
    migrate(db, [step(1, 'a')]);
    assert.throws(() => migrate(db, [step(1, 'a'), step(2, 'b'), step(3, 'c', true)]), /step failed/);
    assert.deepEqual(tables(db), ['a']);
    assert.equal(schemaVersion(db), 1);
    db.close();
  });

  it('refuses a database written by a newer version', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    assert.throws(
      () => migrate(db),
      (err) => isHalyardError(err, 'STORE_FAILURE') && err.context.schemaVersion === 99,
    );
    db.close();
  });

  it('refuses a migration list that is not numbered 1, 2, 3, …', () => {
    const db = new Database(':memory:');
    assert.throws(
      () => migrate(db, [step(1, 'a'), step(3, 'c')]),
      (err) => isHalyardError(err, 'STORE_FAILURE'),
    );
    db.close();
  });

  it('numbers the shipped migrations consecutively', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
  });
});
