/**
 * The line protocol's escaping rule (docs/line-protocol.md, "Escaping"). A field
 * never contains a raw `|`, LF, CR or EOT, so a receiver may split a frame on
 * `|` first and unescape each field afterwards:
 *
 *   \\ → \    \p → |    \n → LF    \r → CR    \xHH → the byte 0xHH
 *
 * Writers escape `\`, `|`, LF, CR, EOT (as \x04) and NUL (as \x00, for C
 * clients that keep fields in NUL-terminated strings).
 */

const BACKSLASH = 0x5c;
const PIPE = 0x7c;
const LF = 0x0a;
const CR = 0x0d;
const EOT = 0x04;
const NUL = 0x00;

const HEX = '0123456789abcdef';

/** The escape sequence for a byte that may not appear raw in a field, else undefined. */
function escapeOf(byte: number): string | undefined {
  switch (byte) {
    case BACKSLASH:
      return '\\\\';
    case PIPE:
      return '\\p';
    case LF:
      return '\\n';
    case CR:
      return '\\r';
    case EOT:
    case NUL:
      return `\\x${HEX[byte >> 4]}${HEX[byte & 15]}`;
    default:
      return undefined;
  }
}

function needsEscape(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (escapeOf(bytes[i]) !== undefined) return true;
  return false;
}

/** `bytes` as one field; the same buffer when nothing needs escaping (the common case). */
export function escapeField(bytes: Buffer): Buffer {
  if (!needsEscape(bytes)) return bytes;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const escape = escapeOf(bytes[i]);
    if (escape === undefined) continue;
    if (i > start) parts.push(bytes.subarray(start, i));
    parts.push(Buffer.from(escape, 'latin1'));
    start = i + 1;
  }
  if (start < bytes.length) parts.push(bytes.subarray(start));
  return Buffer.concat(parts);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** A field's bytes with its escapes resolved, or undefined when an escape is not one of the rule's. */
export function unescapeField(field: Buffer): Buffer | undefined {
  const first = field.indexOf(BACKSLASH);
  if (first < 0) return field;
  const out = Buffer.allocUnsafe(field.length);
  field.copy(out, 0, 0, first);
  let length = first;
  for (let i = first; i < field.length; i++) {
    const byte = field[i];
    if (byte !== BACKSLASH) {
      out[length++] = byte;
      continue;
    }
    const next = field[++i];
    if (next === BACKSLASH) out[length++] = BACKSLASH;
    else if (next === 0x70)
      out[length++] = PIPE; // p
    else if (next === 0x6e)
      out[length++] = LF; // n
    else if (next === 0x72)
      out[length++] = CR; // r
    else if (next === 0x78 && i + 2 < field.length) {
      // x
      const high = hexValue(field[i + 1]);
      const low = hexValue(field[i + 2]);
      if (high < 0 || low < 0) return undefined;
      out[length++] = (high << 4) | low;
      i += 2;
    } else return undefined;
  }
  return out.subarray(0, length);
}

/** Splits a frame's bytes on `|` (escaped fields never contain one). */
export function splitFields(frame: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (;;) {
    const bar = frame.indexOf(PIPE, start);
    if (bar < 0) break;
    fields.push(frame.subarray(start, bar));
    start = bar + 1;
  }
  fields.push(frame.subarray(start));
  return fields;
}
