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
