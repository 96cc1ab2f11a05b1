/**
 * Hand-written PUBLISH encoding for the common case: MQTT 3.x, or MQTT 5 with
 * no properties. mqtt-packet's general generator costs several allocations and
 * a fake stream per packet; this writes one buffer. Everything else (MQTT 5
 * properties, every other packet type) still goes through mqtt-packet.
 */
function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

export function encodePlainPublish(
  topic: string,
  payload: Buffer,
  qos: 0 | 1 | 2,
  retain: boolean,
  dup: boolean,
  packetId: number,
  v5: boolean,
): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length;
  const buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
  buf[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let pos = 1;
  let rest = remaining;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (rest > 0);
  buf.writeUInt16BE(topicLength, pos);
  pos += 2;
  pos += buf.write(topic, pos, 'utf8');
  if (qos > 0) {
    buf.writeUInt16BE(packetId, pos);
    pos += 2;
  }
  if (v5) buf[pos++] = 0; // property length 0
  payload.copy(buf, pos);
  return buf;
}

const ACK_HEADER = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
export type AckCommand = keyof typeof ACK_HEADER;

/**
 * A PUBACK/PUBREC/PUBREL/PUBCOMP with reason Success and no properties: four
 * bytes, the same in 3.1.1 and 5.0 (MQTT 5 §3.4.2.1 lets the reason be omitted).
 */
export function encodePlainAck(cmd: AckCommand, packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = ACK_HEADER[cmd];
  buf[1] = 2;
  buf.writeUInt16BE(packetId, 2);
  return buf;
}

/** The command of a plain 4-byte acknowledgement's first byte, if it is one. */
export function plainAckCommand(firstByte: number): AckCommand | undefined {
  switch (firstByte) {
    case 0x40:
      return 'puback';
    case 0x50:
      return 'pubrec';
    case 0x62:
      return 'pubrel';
    case 0x70:
      return 'pubcomp';
    default:
      return undefined;
  }
}
