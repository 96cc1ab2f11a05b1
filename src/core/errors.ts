/**
 * One error class for the whole platform, with stable codes. Codes are mapped to
 * MQTT reason codes and HTTP statuses only at the edges (transport/, api/), so the
 * core never speaks a wire protocol's dialect. Every code is documented in
 * docs/errors.md; a unit test keeps the two in step.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'a configuration key has an invalid value or is unknown',
  CONFIG_FILE_UNREADABLE: 'the configuration file could not be read or parsed',
  PROTOCOL_ERROR: 'a client broke the MQTT protocol',
  MALFORMED_PACKET: 'a client sent bytes that are not a valid MQTT packet',
  PACKET_TOO_LARGE: 'a packet exceeded the maximum packet size',
  TOPIC_INVALID: 'a topic name or topic filter is not valid',
  NOT_AUTHORIZED: 'the identity may not do this',
  BAD_CREDENTIALS: 'the username, password or other credential was wrong',
  QUOTA_EXCEEDED: 'a limit (connections, queue, rate) was reached',
  STORE_FAILURE: 'the persistent store failed to read or write',
  TLS_SETUP_FAILED: 'certificates could not be created or loaded',
  LISTEN_FAILED: 'a listener could not bind its port',
  INVALID_INPUT: 'a request body, parameter or argument failed validation',
  NOT_FOUND: 'the record does not exist, or belongs to another tenant',
  CONFLICT: 'a record with this id or unique name exists already, or is still in use',
  UNAUTHENTICATED: 'no valid session, API token or credential was presented',
  LOCKED_OUT: 'too many failed logins for this identity or address; wait for the lock to expire',
  TOTP_REQUIRED: 'the password was right, and the account has a second factor: send its current code too',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HalyardError extends Error {
  override readonly name = 'HalyardError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isHalyardError(err: unknown, code?: ErrorCode): err is HalyardError {
  return err instanceof HalyardError && (code === undefined || err.code === code);
}
