import type { Database, Statement } from 'better-sqlite3';

/** Column list shared by outbound and retained rows; bind order matches codec.messageParams. */
const MESSAGE_COLUMNS =
  'topic, payload, msg_qos, msg_retain, properties, correlation_data, expires_at, origin';

/** Every statement the broker store runs, prepared once at open (preparing per op would dominate a batch). */
export function prepareStatements(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    getMaxSeq: s(`SELECT value FROM meta WHERE key = 'max_seq'`),
    setMaxSeq: s(`UPDATE meta SET value = ? WHERE key = 'max_seq'`),

    putSession: s(
      `INSERT OR REPLACE INTO sessions
         (client_id, expiry_interval, disconnected_at, protocol_version, subscriptions)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    deleteSession: s(`DELETE FROM sessions WHERE client_id = ?`),
    deleteClientOutbound: s(`DELETE FROM outbound WHERE client_id = ?`),
    deleteClientInbound: s(`DELETE FROM inbound_qos2 WHERE client_id = ?`),

    putOutbound: s(
      `INSERT OR REPLACE INTO outbound
         (client_id, seq, state, packet_id, qos, retain, subscription_ids, ${MESSAGE_COLUMNS})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateOutbound: s(`UPDATE outbound SET state = ?, packet_id = ? WHERE client_id = ? AND seq = ?`),
    deleteOutbound: s(`DELETE FROM outbound WHERE client_id = ? AND seq = ?`),

    putInbound: s(`INSERT OR IGNORE INTO inbound_qos2 (client_id, packet_id) VALUES (?, ?)`),
    deleteInbound: s(`DELETE FROM inbound_qos2 WHERE client_id = ? AND packet_id = ?`),

    // The retained table names its message flags qos/retain; the others are the same columns.
    putRetained: s(
      `INSERT OR REPLACE INTO retained
         (topic, payload, qos, retain, properties, correlation_data, expires_at, origin)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteRetained: s(`DELETE FROM retained WHERE topic = ?`),

    loadSessions: s(`SELECT * FROM sessions`),
    // Sorted once at start-up; an index on seq would cost every insert instead.
    loadOutbound: s(`SELECT * FROM outbound ORDER BY seq`),
    loadInbound: s(`SELECT client_id AS clientId, packet_id AS packetId FROM inbound_qos2`),
    loadRetained: s(
      `SELECT topic, payload, qos AS msg_qos, retain AS msg_retain, properties, correlation_data,
              expires_at, origin
       FROM retained`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
