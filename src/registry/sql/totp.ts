/**
 * The TOTP statements of both registry stores, written once with `?`
 * placeholders (the PostgreSQL store renumbers them). The second factor lives in
 * columns of `users`; every write is a single conditional UPDATE, so racing
 * requests (or nodes) cannot both enrol, confirm or spend the same time step.
 */
export interface Statement {
  sql: string;
  params: unknown[];
}

export const totpStatements = {
  get: (userId: string): Statement => ({
    sql: 'SELECT * FROM users WHERE id = ? AND totp_secret IS NOT NULL',
    params: [userId],
  }),
  begin: (userId: string, secret: string, at: number): Statement => ({
    sql:
      'UPDATE users SET totp_secret = ?, totp_created_at = ?, totp_confirmed_at = NULL, totp_last_step = NULL ' +
      'WHERE id = ? AND totp_confirmed_at IS NULL',
    params: [secret, at, userId],
  }),
  confirm: (userId: string, secret: string, at: number, step: number): Statement => ({
    sql:
      'UPDATE users SET totp_confirmed_at = ?, totp_last_step = ? ' +
      'WHERE id = ? AND totp_secret = ? AND totp_confirmed_at IS NULL',
    params: [at, step, userId, secret],
  }),
  advance: (userId: string, step: number): Statement => ({
    sql:
      'UPDATE users SET totp_last_step = ? ' +
      'WHERE id = ? AND totp_confirmed_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)',
    params: [step, userId, step],
  }),
  clear: (userId: string): Statement => ({
    sql:
      'UPDATE users SET totp_secret = NULL, totp_created_at = NULL, totp_confirmed_at = NULL, ' +
      'totp_last_step = NULL WHERE id = ? AND totp_secret IS NOT NULL',
    params: [userId],
  }),
};
