/**
 * The few MQTT 3.1.1 packets the console needs, encoded and decoded by hand:
 * the full MQTT.js browser build would triple the dashboard's bundle.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export enum PacketType {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
}

export type Qos = 0 | 1;

export type Packet =
  | { type: PacketType.Connack; returnCode: number }
  | {
      type: PacketType.Publish;
      topic: string;
      payload: Uint8Array;
      qos: number;
      id?: number;
      retain: boolean;
    }
  | { type: PacketType.Puback | PacketType.Unsuback; id: number }
  | { type: PacketType.Suback; id: number; granted: number[] }
  | { type: PacketType.Pingresp };

function utf8(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  return concat([u16(bytes.length), bytes]);
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n >> 8, n & 0xff]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function packet(firstByte: number, body: Uint8Array[]): Uint8Array {
  const rest = concat(body);
  const length: number[] = [];
  let n = rest.length;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  return concat([new Uint8Array([firstByte, ...length]), rest]);
}

export function connectPacket(o: {
  clientId: string;
  username?: string;
  password?: string;
  keepalive: number;
}): Uint8Array {
  let flags = 0x02; // clean session: the console keeps nothing between visits
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  return packet(PacketType.Connect << 4, [
    utf8('MQTT'),
    new Uint8Array([4, flags]),
    u16(o.keepalive),
    utf8(o.clientId),
    ...(o.username !== undefined ? [utf8(o.username)] : []),
    ...(o.password !== undefined ? [utf8(o.password)] : []),
  ]);
}

export function publishPacket(o: {
  topic: string;
  payload: string;
  qos: Qos;
  retain: boolean;
  id: number;
}): Uint8Array {
  const first = (PacketType.Publish << 4) | (o.qos << 1) | (o.retain ? 1 : 0);
  return packet(first, [utf8(o.topic), ...(o.qos > 0 ? [u16(o.id)] : []), encoder.encode(o.payload)]);
}

export function pubackPacket(id: number): Uint8Array {
  return packet(PacketType.Puback << 4, [u16(id)]);
}

export function subscribePacket(id: number, filter: string, qos: Qos): Uint8Array {
  return packet((PacketType.Subscribe << 4) | 0x02, [u16(id), utf8(filter), new Uint8Array([qos])]);
}

export function unsubscribePacket(id: number, filter: string): Uint8Array {
  return packet((PacketType.Unsubscribe << 4) | 0x02, [u16(id), utf8(filter)]);
}

export const pingreqPacket = (): Uint8Array => new Uint8Array([PacketType.Pingreq << 4, 0]);
export const disconnectPacket = (): Uint8Array => new Uint8Array([PacketType.Disconnect << 4, 0]);

/** Splits a byte stream into packets; bytes of an unfinished packet wait for the next chunk. */
export class PacketReader {
  private buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Packet[] {
    this.buffer = concat([this.buffer, chunk]);
    const packets: Packet[] = [];
    for (;;) {
      const header = this.header();
      if (!header) break;
      const { length, offset } = header;
      if (this.buffer.length < offset + length) break;
      const body = this.buffer.subarray(offset, offset + length);
      const decoded = decode(this.buffer[0], body);
      if (decoded) packets.push(decoded);
      this.buffer = this.buffer.slice(offset + length);
    }
    return packets;
  }

  private header(): { length: number; offset: number } | undefined {
    let length = 0;
    for (let i = 1; i <= 4; i++) {
      if (i >= this.buffer.length) return undefined;
      const byte = this.buffer[i];
      length += (byte & 0x7f) * 128 ** (i - 1);
      if ((byte & 0x80) === 0) return { length, offset: i + 1 };
    }
    throw new Error('malformed remaining length');
  }
}

function decode(first: number, body: Uint8Array): Packet | undefined {
  const type = (first >> 4) as PacketType;
  const id = body.length >= 2 ? (body[0] << 8) | body[1] : 0;
  switch (type) {
    case PacketType.Connack:
      return { type, returnCode: body[1] };
    case PacketType.Publish: {
      const qos = (first >> 1) & 3;
      const topicLength = (body[0] << 8) | body[1];
      const topic = decoder.decode(body.subarray(2, 2 + topicLength));
      let at = 2 + topicLength;
      let packetId: number | undefined;
      if (qos > 0) {
        packetId = (body[at] << 8) | body[at + 1];
        at += 2;
      }
      return { type, topic, payload: body.slice(at), qos, id: packetId, retain: (first & 1) === 1 };
    }
    case PacketType.Puback:
    case PacketType.Unsuback:
      return { type, id };
    case PacketType.Suback:
      return { type, id, granted: [...body.subarray(2)] };
    case PacketType.Pingresp:
      return { type };
    default:
      return undefined;
  }
}

export function payloadText(payload: Uint8Array): string {
  return decoder.decode(payload);
}
