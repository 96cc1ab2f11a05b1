/**
 * Every error code a line-protocol server sends (`ERR|<code>|<reason>`), with
 * its meaning. docs/line-protocol.md lists each one; a unit test keeps the two
 * in step. Codes marked `closes` end the connection after the ERR frame.
 */
export const LINE_ERRORS = {
  'frame-too-long': {
    closes: false,
    meaning: 'the frame passed the maximum frame length; the rest of it was skipped',
  },
  'unknown-command': { closes: false, meaning: 'the first field is not a command of the protocol' },
  'bad-frame': {
    closes: false,
    meaning:
      'wrong number of fields, or a field that is not valid for its command (QoS, device id, type, proof)',
  },
  'bad-escape': { closes: false, meaning: 'a backslash that does not start one of the escapes of the rule' },
  'bad-topic': {
    closes: false,
    meaning: 'the topic or filter is empty, not UTF-8, holds NUL, or misuses the wildcards + and #',
  },
  waiting: {
    closes: false,
    meaning: 'the connection is queued (WAIT): only PING, REPEAT, BYE and CLOSE are answered',
  },
  'no-conversation': {
    closes: false,
    meaning: 'the conversation ended with BYE: send HELLO to start another',
  },
  'auth-required': {
    closes: false,
    meaning: 'the frame needs an authenticated conversation: send AUTH first',
  },
  'already-authenticated': { closes: false, meaning: 'AUTH in a conversation that is authenticated already' },
  'auth-failed': {
    closes: false,
    meaning: 'unknown device, wrong HMAC proof or token; counts toward the lockout of the device and address',
  },
  'locked-out': {
    closes: false,
    meaning: 'too many failed logins for this device or address: wait for the lock to expire',
  },
  'not-authorized': { closes: false, meaning: 'refused by the ACL, or the device is deactivated' },
  'too-many-connections': {
    closes: false,
    meaning: "the tenant's or the device's connection cap is reached",
  },
  'rate-limited': { closes: false, meaning: 'too many connection attempts from this address' },
  'bad-payload': {
    closes: false,
    meaning:
      'a consumer of the topic refused the payload (telemetry that does not parse…); the reason says why',
  },
  'quota-exceeded': {
    closes: false,
    meaning:
      "the device's byte quota, or the telemetry store's back-pressure, refused this message: send it later",
  },
  'unknown-device': { closes: false, meaning: 'SEND names no device of this tenant' },
  'no-receiver': {
    closes: false,
    meaning: "SEND's message was accepted but nobody listens on the destination's inbox",
  },
  'no-subscription': { closes: false, meaning: 'UNSUB names a filter this conversation has not subscribed' },
  'not-stored': { closes: false, meaning: 'the message could not be made durable: send it again' },
  'rate-exceeded': {
    closes: true,
    meaning: "the device published faster than its message rate (as MQTT's 0x96)",
  },
  'auth-timeout': {
    closes: true,
    meaning: 'no successful AUTH within the authentication timeout of the greeting',
  },
  'idle-timeout': { closes: true, meaning: 'no frame within the idle timeout' },
  busy: { closes: true, meaning: 'the waiting queue is full, or the broker is at its connection limit' },
  kicked: {
    closes: true,
    meaning: 'the platform ended the conversation: device deactivated, credential revoked, ACL changed',
  },
  'shutting-down': { closes: true, meaning: 'the server is stopping' },
  internal: { closes: true, meaning: 'an unexpected server error (logged)' },
} as const;

export type LineErrorCode = keyof typeof LINE_ERRORS;
