import { isUtf8 } from 'node:buffer';
import { parseSharedFilter, topicFilterProblem, topicNameProblem } from '../../broker/topics.js';
import type { LineErrorCode } from './errors.js';
import { escapeField, splitFields, unescapeField } from './escape.js';
import { TERMINATOR_BYTES, type Terminator } from './frame-splitter.js';

/** Frames a client sends, decoded and checked (grammar in docs/line-protocol.md). */
export type ClientFrame =
  | { cmd: 'HELLO' }
  /** The text as it arrived (still escaped): it is echoed back unchanged. */
  | { cmd: 'REPEAT'; text: Buffer }
  | { cmd: 'AUTH'; deviceId: string; proof: { kind: 'hmac'; mac: Buffer } | { kind: 'token'; token: string } }
  | { cmd: 'PUB'; topic: string; payload: Buffer; qos: 0 | 1 }
  | { cmd: 'SUB'; filter: string }
  | { cmd: 'UNSUB'; filter: string }
  /** `record`: the fields after the type, still escaped and joined by `|`: the inbox message's payload. */
  | { cmd: 'SEND'; dest: string; type: string; record: Buffer }
  | { cmd: 'PING' }
  | { cmd: 'BYE' }
  | { cmd: 'CLOSE' };

export type Command = ClientFrame['cmd'];

export interface FrameError {
  code: LineErrorCode;
  reason: string;
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | ({ ok: false } & FrameError);

/** Device ids and SEND types: the registry's id rule, which also keeps them safe as topic levels. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HEX_MAC = /^[0-9a-fA-F]{64}$/;

const fail = (code: LineErrorCode, reason: string): ParsedFrame => ({ ok: false, code, reason });
const ok = (frame: ClientFrame): ParsedFrame => ({ ok: true, frame });

/** Field counts per command: [least, most] including the command itself. */
const ARITY: Record<Command, [number, number]> = {
  HELLO: [1, 1],
  REPEAT: [1, Infinity],
  AUTH: [3, 4],
  PUB: [3, 4],
  SUB: [2, 2],
  UNSUB: [2, 2],
  SEND: [3, Infinity],
  PING: [1, 1],
  BYE: [1, 1],
  CLOSE: [1, 1],
};

const USAGE: Record<Command, string> = {
  HELLO: 'HELLO',
  REPEAT: 'REPEAT|text',
  AUTH: 'AUTH|<deviceId>|<hex HMAC-SHA256(secret, nonce)> or AUTH|<deviceId>|TOKEN|<token>',
  PUB: 'PUB|topic|payload or PUB|topic|payload|qos',
  SUB: 'SUB|filter',
  UNSUB: 'UNSUB|filter',
  SEND: 'SEND|<deviceId>|<type>|fields…',
  PING: 'PING',
  BYE: 'BYE',
  CLOSE: 'CLOSE',
};

function isCommand(word: string): word is Command {
  return Object.hasOwn(ARITY, word);
}

/** A field as text: escapes resolved, UTF-8 required. */
function text(field: Buffer): string | FrameError {
  const bytes = unescapeField(field);
  if (bytes === undefined) return { code: 'bad-escape', reason: 'invalid escape sequence' };
  if (!isUtf8(bytes)) return { code: 'bad-frame', reason: 'field is not valid UTF-8' };
  return bytes.toString('utf8');
}

function topicOf(field: Buffer, kind: 'name' | 'filter'): string | FrameError {
  const topic = text(field);
  if (typeof topic !== 'string') return topic.code === 'bad-frame' ? { ...topic, code: 'bad-topic' } : topic;
  let problem = kind === 'name' ? topicNameProblem(topic) : undefined;
  if (kind === 'filter') {
    const shared = parseSharedFilter(topic);
    problem = shared === null ? 'misplaced-wildcard' : topicFilterProblem(shared ? shared.filter : topic);
  }
  return problem ? { code: 'bad-topic', reason: `invalid topic ${kind} (${problem})` } : topic;
}

/** Decodes one frame (terminator removed, not empty). */
export function parseFrame(bytes: Buffer): ParsedFrame {
  const fields = splitFields(bytes);
  const word = fields[0].toString('latin1').toUpperCase();
  if (!isCommand(word)) {
    return fail('unknown-command', `unknown command; one of ${Object.keys(ARITY).join(' ')}`);
  }
  const [least, most] = ARITY[word];
  if (fields.length < least || fields.length > most) return fail('bad-frame', `usage: ${USAGE[word]}`);
  switch (word) {
    case 'REPEAT':
      return ok({ cmd: 'REPEAT', text: bytes.subarray(Math.min(bytes.length, fields[0].length + 1)) });
    case 'AUTH':
      return parseAuth(fields);
    case 'PUB':
      return parsePub(fields);
    case 'SUB':
    case 'UNSUB': {
      const filter = topicOf(fields[1], 'filter');
      return typeof filter === 'string' ? ok({ cmd: word, filter }) : { ok: false, ...filter };
    }
    case 'SEND':
      return parseSend(bytes, fields);
    default:
      return ok({ cmd: word });
  }
}

function parseAuth(fields: Buffer[]): ParsedFrame {
  const deviceId = text(fields[1]);
  if (typeof deviceId !== 'string') return { ok: false, ...deviceId };
  if (!NAME.test(deviceId)) return fail('bad-frame', 'not a device id');
  if (fields.length === 4) {
    if (fields[2].toString('latin1').toUpperCase() !== 'TOKEN')
      return fail('bad-frame', `usage: ${USAGE.AUTH}`);
    const token = text(fields[3]);
    if (typeof token !== 'string') return { ok: false, ...token };
    if (token.length === 0) return fail('bad-frame', 'empty token');
    return ok({ cmd: 'AUTH', deviceId, proof: { kind: 'token', token } });
  }
  const mac = fields[2].toString('latin1');
  if (!HEX_MAC.test(mac)) return fail('bad-frame', 'the proof must be 64 hex digits (HMAC-SHA256)');
  return ok({ cmd: 'AUTH', deviceId, proof: { kind: 'hmac', mac: Buffer.from(mac, 'hex') } });
}

function parsePub(fields: Buffer[]): ParsedFrame {
  const topic = topicOf(fields[1], 'name');
  if (typeof topic !== 'string') return { ok: false, ...topic };
  const payload = unescapeField(fields[2]);
  if (payload === undefined) return fail('bad-escape', 'invalid escape sequence in the payload');
  let qos: 0 | 1 = 1;
  if (fields.length === 4) {
    const given = fields[3].toString('latin1');
    if (given !== '0' && given !== '1') return fail('bad-frame', 'qos must be 0 or 1');
    qos = given === '0' ? 0 : 1;
  }
  return ok({ cmd: 'PUB', topic, payload, qos });
}

function parseSend(bytes: Buffer, fields: Buffer[]): ParsedFrame {
  const dest = text(fields[1]);
  if (typeof dest !== 'string') return { ok: false, ...dest };
  if (!NAME.test(dest)) return fail('bad-frame', 'not a device id');
  const type = text(fields[2]);
  if (typeof type !== 'string') return { ok: false, ...type };
  if (!NAME.test(type)) return fail('bad-frame', 'type must be 1-64 letters, digits, "_", "." or "-"');
  // Receivers unescape the record's fields: each must be valid now.
  for (const field of fields.slice(3)) {
    if (unescapeField(field) === undefined) return fail('bad-escape', 'invalid escape sequence in a field');
  }
  const headerLength = fields[0].length + fields[1].length + fields[2].length + 3;
  return ok({ cmd: 'SEND', dest, type, record: bytes.subarray(Math.min(bytes.length, headerLength)) });
}

/** Frames without fields (OK, PONG, BYE), encoded once per terminator: most replies are one of them. */
const bareFrames = new Map<string, Buffer>();

/** A server frame: the command, then each field escaped, then the terminator. */
export function encodeFrame(
  command: string,
  fields: readonly (string | Buffer)[],
  terminator: Terminator,
): Buffer {
  if (fields.length === 0) {
    const key = command + terminator;
    let bytes = bareFrames.get(key);
    if (!bytes) {
      bytes = Buffer.concat([Buffer.from(command, 'latin1'), TERMINATOR_BYTES[terminator]]);
      bareFrames.set(key, bytes);
    }
    return bytes;
  }
  const parts: Buffer[] = [Buffer.from(command, 'latin1')];
  for (const field of fields) {
    parts.push(BAR, escapeField(typeof field === 'string' ? Buffer.from(field, 'utf8') : field));
  }
  parts.push(TERMINATOR_BYTES[terminator]);
  return Buffer.concat(parts);
}

/** A server frame whose fields are already escaped (REPEAT's echo). */
export function encodeRawFrame(command: string, escapedFields: Buffer, terminator: Terminator): Buffer {
  return Buffer.concat([Buffer.from(command, 'latin1'), BAR, escapedFields, TERMINATOR_BYTES[terminator]]);
}

const BAR = Buffer.from('|');

export const PROTOCOL_VERSION = '1';
