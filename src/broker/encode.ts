import * as mqtt from 'mqtt-packet';
import type { MqttConnection } from './connection.js';
import { isExpired, remainingExpirySeconds, type Message, type QoS } from './message.js';

/** How one message goes to one client. */
export interface OutboundDelivery {
  qos: QoS;
  retain: boolean;
  packetId?: number;
  dup?: boolean;
  subscriptionIdentifiers?: number[];
}

/**
 * Encoded QoS 0 PUBLISH bytes per message, shared by every subscriber that gets
 * the same bytes (same protocol family and retain flag): a fan-out to N clients
 * then encodes once instead of N times.
 */
const sharedEncodings = new WeakMap<Message, Map<string, Buffer>>();

function publishPacket(
  conn: MqttConnection,
  message: Message,
  delivery: OutboundDelivery,
  now: number,
): mqtt.IPublishPacket {
  const mount = conn.identity?.mountPoint ?? '';
  let topic = mount && message.topic.startsWith(mount) ? message.topic.slice(mount.length) : message.topic;
  const packet: mqtt.IPublishPacket = {
    cmd: 'publish',
    topic,
    payload: message.payload,
    qos: delivery.qos,
    retain: delivery.retain,
    dup: delivery.dup ?? false,
  };
  if (delivery.qos > 0) packet.messageId = delivery.packetId;
  if (conn.protocolVersion === 5) {
    const properties: NonNullable<mqtt.IPublishPacket['properties']> = { ...message.properties };
    const expiry = remainingExpirySeconds(message, now);
    if (expiry !== undefined) properties.messageExpiryInterval = expiry;
    const ids = delivery.subscriptionIdentifiers;
    if (ids && ids.length > 0) properties.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    if (conn.clientTopicAliasMaximum > 0) {
      const known = conn.outboundAliases.get(topic);
      if (known !== undefined) {
        properties.topicAlias = known;
        topic = '';
      } else if (conn.outboundAliases.size < conn.clientTopicAliasMaximum) {
        // Aliases are handed out until the client's maximum; later topics go in full (no eviction needed).
        const alias = conn.outboundAliases.size + 1;
        conn.outboundAliases.set(topic, alias);
        properties.topicAlias = alias;
      }
      packet.topic = topic;
    }
    packet.properties = properties;
  }
  return packet;
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
  const shareable =
    delivery.qos === 0 &&
    !delivery.subscriptionIdentifiers?.length &&
    (conn.identity?.mountPoint ?? '') === '' &&
    (!v5 || (message.expiresAt === undefined && conn.clientTopicAliasMaximum === 0));
  let bytes: Buffer | undefined;
  let newAlias: string | undefined;
  const key = `${v5 ? 5 : 4}${delivery.retain ? 'r' : ''}`;
  if (shareable) {
    let cache = sharedEncodings.get(message);
    bytes = cache?.get(key);
    if (bytes === undefined) {
      bytes = mqtt.generate(publishPacket(conn, message, delivery, now), {
        protocolVersion: conn.protocolVersion,
      });
      if (!cache) sharedEncodings.set(message, (cache = new Map<string, Buffer>()));
      cache.set(key, bytes);
    }
  } else {
    const aliasesBefore = conn.outboundAliases.size;
    const packet = publishPacket(conn, message, delivery, now);
    if (conn.outboundAliases.size > aliasesBefore) newAlias = packet.topic;
    bytes = mqtt.generate(packet, { protocolVersion: conn.protocolVersion });
  }
  if (v5 && conn.clientMaxPacketSize > 0 && bytes.length > conn.clientMaxPacketSize) {
    // The client never sees this packet, so an alias it would have defined must not be remembered.
    if (newAlias !== undefined) conn.outboundAliases.delete(newAlias);
    return undefined;
  }
  return bytes;
}
