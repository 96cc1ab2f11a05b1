/**
 * Layout of every benchmark payload (at least 16 bytes):
 *   [0..2) publisher index  [2..4) magic  [4..8) sequence  [8..16) send time (ms, float64)
 * The rest is filler. Integrity check: magic present and length as sent.
 */
export const MAGIC = 0xb5a7;
export const MIN_PAYLOAD = 16;

export function makePayload(size: number): Buffer {
  if (size < MIN_PAYLOAD) throw new Error(`payload must be at least ${MIN_PAYLOAD} bytes`);
  const payload = Buffer.alloc(size, 0x61);
  payload.writeUInt16LE(MAGIC, 2);
  return payload;
}

export interface PayloadHead {
  pub: number;
  seq: number;
  sentAt: number;
  length: number;
}

export interface PublishInfo {
  qos: number;
  retain: boolean;
  packetId: number;
  payloadOff: number;
  payloadLen: number;
}

/** Decodes the PUBLISH at buf[off] (fixed header already measured by FrameScanner). */
export function publishInfo(
  buf: Buffer,
  off: number,
  hdrLen: number,
  remLen: number,
  out: PublishInfo,
): void {
  const b0 = buf[off];
  const qos = (b0 >> 1) & 3;
  const topicOff = off + hdrLen;
  const topicLen = (buf[topicOff] << 8) | buf[topicOff + 1];
  let p = topicOff + 2 + topicLen;
  out.packetId = 0;
  if (qos > 0) {
    out.packetId = (buf[p] << 8) | buf[p + 1];
    p += 2;
  }
  out.qos = qos;
  out.retain = (b0 & 1) === 1;
  out.payloadOff = p;
  out.payloadLen = remLen - (p - topicOff);
}
