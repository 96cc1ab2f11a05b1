import * as mqtt from 'mqtt-packet';
import type { MqttConnection } from './connection.js';
import { isExpired, remainingExpirySeconds, type Message, type QoS } from './message.js';
import { encodePlainPublish } from './publish-codec.js';

/**
 * QoS 0 bytes of one message, shared by every subscriber that gets the same
 * bytes (same protocol family and retain flag): a fan-out to N clients then
 * encodes once instead of N times. One lives for one routing of one message.
 */
export interface EncodingCache {
  v4?: Buffer;
  v4r?: Buffer;
  v5?: Buffer;
  v5r?: Buffer;
}

/** How one message goes to one client. */
export interface OutboundDelivery {
  qos: QoS;
  retain: boolean;
  packetId?: number;
  dup?: boolean;
  subscriptionIdentifiers?: number[];
  cache?: EncodingCache;
}

/** The general path: MQTT 5 with properties, expiry, subscription ids or topic aliases. */
function encodeWithProperties(
  conn: MqttConnection,
  message: Message,
  topic: string,
  delivery: OutboundDelivery,
  now: number,
): { bytes: Buffer; newAlias?: string } {
  const packet: mqtt.IPublishPacket = {
    cmd: 'publish',
    topic,
    payload: message.payload,
    qos: delivery.qos,
    retain: delivery.retain,
    dup: delivery.dup ?? false,
  };
  if (delivery.qos > 0) packet.messageId = delivery.packetId;
  const properties: NonNullable<mqtt.IPublishPacket['properties']> = { ...message.properties };
  const mount = conn.identity?.mountPoint ?? '';
  if (mount !== '' && properties.responseTopic !== undefined) {
    // Back into the receiver's namespace; a response topic outside it is not the receiver's to answer on.
    if (properties.responseTopic.startsWith(mount))
      properties.responseTopic = properties.responseTopic.slice(mount.length);
    else delete properties.responseTopic;
  }
  const expiry = remainingExpirySeconds(message, now);
  if (expiry !== undefined) properties.messageExpiryInterval = expiry;
  const ids = delivery.subscriptionIdentifiers;
  if (ids && ids.length > 0) properties.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
  let newAlias: string | undefined;
  if (conn.clientTopicAliasMaximum > 0) {
    const aliases = (conn.outboundAliases ??= new Map<string, number>());
    const known = aliases.get(topic);
    if (known !== undefined) {
      properties.topicAlias = known;
      packet.topic = '';
    } else if (aliases.size < conn.clientTopicAliasMaximum) {
      // Aliases are handed out until the client's maximum; later topics go in full (no eviction needed).
      const alias = aliases.size + 1;
      aliases.set(topic, alias);
      properties.topicAlias = alias;
      newAlias = topic;
    }
  }
  packet.properties = properties;
  return { bytes: mqtt.generate(packet, { protocolVersion: 5 }), newAlias };
}

/** Bytes for one PUBLISH to one client, or undefined when it must not be sent (expired, too large). */
export function encodePublish(
  conn: MqttConnection,
  message: Message,
  delivery: OutboundDelivery,
  now: number,
): Buffer | undefined {
  if (isExpired(message, now)) return undefined;
  const v5 = conn.protocolVersion === 5;
  const mount = conn.identity?.mountPoint ?? '';
  const topic = mount && message.topic.startsWith(mount) ? message.topic.slice(mount.length) : message.topic;
  const plain =
    !v5 ||
    (message.properties === undefined &&
      message.expiresAt === undefined &&
      !delivery.subscriptionIdentifiers?.length &&
      conn.clientTopicAliasMaximum === 0);
  if (!plain) {
    const { bytes, newAlias } = encodeWithProperties(conn, message, topic, delivery, now);
    if (conn.clientMaxPacketSize > 0 && bytes.length > conn.clientMaxPacketSize) {
      // The client never sees this packet, so an alias it would have defined must not be remembered.
      if (newAlias !== undefined) conn.outboundAliases?.delete(newAlias);
      return undefined;
    }
    return bytes;
  }
  const encode = (): Buffer =>
    encodePlainPublish(
      topic,
      message.payload,
      delivery.qos,
      delivery.retain,
      delivery.dup ?? false,
      delivery.packetId ?? 0,
      v5,
    );
  let bytes: Buffer;
  const cache = delivery.cache;
  if (cache && delivery.qos === 0 && mount === '') {
    const key = v5 ? (delivery.retain ? 'v5r' : 'v5') : delivery.retain ? 'v4r' : 'v4';
    bytes = cache[key] ??= encode();
  } else {
    bytes = encode();
  }
  if (v5 && conn.clientMaxPacketSize > 0 && bytes.length > conn.clientMaxPacketSize) return undefined;
  return bytes;
}
