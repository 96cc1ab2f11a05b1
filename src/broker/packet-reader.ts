import * as mqtt from 'mqtt-packet';
import { plainAckCommand } from './publish-codec.js';

export interface PacketReaderEvents {
  onPacket(packet: mqtt.Packet): void;
  /** The bytes are not MQTT (`malformed`) or announce a packet over the size limit (`too-large`). */
  onReadError(kind: 'malformed' | 'too-large', message: string): void;
}

/**
 * One mqtt-packet parser for every connection: it is only ever handed one whole
 * packet and answers synchronously, so it holds no state between calls. A parser
 * per connection would cost each idle client a BufferList stream (~1.5 KB).
 */
const sharedParser = mqtt.parser({ protocolVersion: 4 });
const parserInternals = sharedParser as unknown as {
  settings: { protocolVersion: number };
  _pos: number;
  _resetState(): void;
};
let parsed: mqtt.Packet | undefined;
let parseError: Error | undefined;
sharedParser.on('packet', (packet) => (parsed = packet));
sharedParser.on('error', (err: Error) => (parseError = err));

function parseWhole(bytes: Buffer, protocolVersion: number): { packet?: mqtt.Packet; error?: string } {
  parsed = undefined;
  parseError = undefined;
  // A fresh object: after a CONNECT, mqtt-packet makes that packet its settings object.
  parserInternals.settings = { protocolVersion };
  sharedParser.parse(bytes);
  const packet = parsed;
  const error = parseError as Error | undefined;
  // _resetState() leaves the read position where an aborted parse stopped; the next header would be read from there.
  parserInternals._resetState();
  parserInternals._pos = 0;
  if (error) return { error: error.message };
  if (!packet) return { error: 'packet shorter than its remaining length says' };
  return { packet };
}

/**
 * Splits a client's byte stream into whole packets. PUBLISH and the plain
 * 4-byte acknowledgements, the packets that matter for throughput, are decoded
 * here in a few reads; every other packet
 * (and an MQTT 5 PUBLISH that carries properties) is handed, one whole packet
 * at a time, to mqtt-packet's parser. Reading the fixed header first also lets
 * an oversized packet be refused before its body is buffered.
 */
export class PacketReader {
  private pending: Buffer | undefined;
  private protocolVersion: 3 | 4 | 5 = 4;
  private halted = false;

  constructor(
    private readonly maxPacketSize: number,
    private readonly events: PacketReaderEvents,
  ) {}

  /** Called once CONNECT has told us how the rest of the stream is encoded. */
  setProtocolVersion(version: 3 | 4 | 5): void {
    this.protocolVersion = version;
  }

  /** Stops delivering packets (the connection is closing). */
  halt(): void {
    this.halted = true;
    this.pending = undefined;
  }

  push(chunk: Buffer): void {
    if (this.halted) return;
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    while (pos < buf.length && !this.halted) {
      // Fixed header: type/flags byte, then Remaining Length as a variable byte integer of at most 4 bytes.
      let length = 0;
      let multiplier = 1;
      let cursor = pos + 1;
      let complete = false;
      while (cursor < buf.length && cursor - pos <= 4) {
        const byte = buf[cursor++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (cursor - pos > 4) return this.fail('malformed', 'remaining length longer than 4 bytes');
        break; // header not all here yet
      }
      const end = cursor + length;
      if (end - pos > this.maxPacketSize) {
        return this.fail('too-large', `packet of ${end - pos} bytes exceeds the maximum packet size`);
      }
      if (end > buf.length) break;
      const ack = length === 2 ? plainAckCommand(buf[pos]) : undefined;
      if (buf[pos] >> 4 === 3) this.readPublish(buf, pos, cursor, end);
      else if (ack) this.events.onPacket({ cmd: ack, messageId: buf.readUInt16BE(cursor) });
      else this.readOther(buf.subarray(pos, end));
      pos = end;
    }
    if (!this.halted && pos < buf.length) this.pending = buf.subarray(pos);
  }

  private readOther(bytes: Buffer): void {
    const { packet, error } = parseWhole(bytes, this.protocolVersion);
    if (error !== undefined) this.fail('malformed', error);
    else if (packet) this.events.onPacket(packet);
  }

  private fail(kind: 'malformed' | 'too-large', message: string): void {
    this.halt();
    this.events.onReadError(kind, message);
  }

  private readPublish(buf: Buffer, start: number, body: number, end: number): void {
    const flags = buf[start] & 0x0f;
    const qos = (flags >> 1) & 3;
    if (qos === 3) return this.fail('malformed', 'PUBLISH with QoS 3');
    if (end - body < 2) return this.fail('malformed', 'PUBLISH too short for its topic length');
    const topicLength = buf.readUInt16BE(body);
    let pos = body + 2 + topicLength;
    if (pos > end || (qos > 0 && pos + 2 > end))
      return this.fail('malformed', 'PUBLISH shorter than its fields');
    const topic = buf.toString('utf8', body + 2, pos);
    let messageId: number | undefined;
    if (qos > 0) {
      messageId = buf.readUInt16BE(pos);
      pos += 2;
    }
    if (this.protocolVersion === 5) {
      if (pos >= end || buf[pos] !== 0) {
        // Properties present: leave their decoding (and validation) to mqtt-packet.
        this.readOther(buf.subarray(start, end));
        return;
      }
      pos += 1;
    }
    this.events.onPacket({
      cmd: 'publish',
      topic,
      payload: buf.subarray(pos, end),
      qos: qos as 0 | 1 | 2,
      retain: (flags & 1) === 1,
      dup: (flags & 8) === 8,
      messageId,
    });
  }
}
