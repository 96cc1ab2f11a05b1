import { RC } from '../../broker/reason-codes.js';
import type { LineErrorCode } from './errors.js';
import type { LineLogin } from './gate.js';

/** How the broker's and the registry's answers read on the line: refusals as ERR codes. */

/** A refused AUTH: the code and the reason told to the client. */
export const AUTH_FAILURES: Record<Extract<LineLogin, { ok: false }>['reason'], [LineErrorCode, string]> = {
  'bad-credentials': ['auth-failed', 'unknown device, or wrong proof or token'],
  'not-authorized': ['not-authorized', 'the device may not log in'],
  banned: ['locked-out', 'too many failed logins; try again later'],
  'server-busy': ['busy', 'the server is busy'],
  'connection-rate-exceeded': ['rate-limited', 'too many connection attempts from this address'],
  'quota-exceeded': ['too-many-connections', 'connection cap reached'],
};

/** A refused PUBACK, SUBACK or UNSUBACK as an ERR code. */
export function refusalCode(reason: number): LineErrorCode {
  switch (reason) {
    case RC.NOT_AUTHORIZED:
      return 'not-authorized';
    case RC.QUOTA_EXCEEDED:
      return 'quota-exceeded';
    case RC.PAYLOAD_FORMAT_INVALID:
      return 'bad-payload';
    case RC.TOPIC_NAME_INVALID:
    case RC.TOPIC_FILTER_INVALID:
      return 'bad-topic';
    default:
      return 'not-stored';
  }
}

/** Why the broker ended a session, as the ERR the client reads before the connection closes. */
export function endCode(reason: number | undefined): LineErrorCode {
  switch (reason) {
    case RC.ADMINISTRATIVE_ACTION:
    case RC.SESSION_TAKEN_OVER:
    case RC.NOT_AUTHORIZED: // e.g. a ThingSpeak legacy subscription with a wrong key
      return 'kicked';
    case RC.SERVER_SHUTTING_DOWN:
      return 'shutting-down';
    case RC.MESSAGE_RATE_TOO_HIGH:
      return 'rate-exceeded';
    default:
      return 'internal';
  }
}
