import { isUtf8 } from 'node:buffer';
import type * as mqtt from 'mqtt-packet';
import { isHalyardError } from '../core/errors.js';
import type { PublishDone } from './broker.js';
import type { MqttConnection } from './connection.js';
import type { Message, MessageProperties } from './message.js';
import { RC } from './reason-codes.js';
import { topicNameProblem } from './topics.js';

const FORWARDED = [
  'payloadFormatIndicator',
  'contentType',
  'responseTopic',
  'correlationData',
  'userProperties',
] as const;

/** The properties that travel with the message to subscribers (MQTT 5 §3.3.2.3), nothing else. */
function copyProperties(
  props: mqtt.IPublishPacket['properties'],
  mountPoint: string,
): MessageProperties | undefined {
  if (!props) return undefined;
  const out: MessageProperties = {};
  let any = false;
  for (const name of FORWARDED) {
    if (props[name] === undefined) continue;
    (out as Record<string, unknown>)[name] = props[name];
    any = true;
  }
  // A response topic names a topic in the sender's namespace, like the topic itself.
  if (out.responseTopic !== undefined) out.responseTopic = mountPoint + out.responseTopic;
  return any ? out : undefined;
}

/**
 * Refuses one PUBLISH without closing the connection. MQTT 5 clients learn why
 * from the PUBACK/PUBREC reason code; 3.1.1 has no negative ack, so a refused
 * QoS 1/2 message is acknowledged and dropped (as Mosquitto does).
 */
function refuse(conn: MqttConnection, packet: mqtt.IPublishPacket, reason: number, why: string): void {
  conn.broker.stats.publishDropped++;
  conn.log.debug({ ...conn.logContext(), topic: packet.topic, reason }, why);
  if (packet.qos === 0) return;
  const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
  const ack: mqtt.IPubackPacket | mqtt.IPubrecPacket =
    conn.protocolVersion === 5
      ? { cmd, messageId: packet.messageId, reasonCode: reason, properties: { reasonString: why } }
      : { cmd, messageId: packet.messageId };
  if (conn.protocolVersion === 5 && !conn.requestProblemInformation) delete ack.properties;
  conn.reserveAck()(ack);
}

/** The broker's completion, delayed until a publish hook's consumer has made the message durable too. */
function afterConsumed(consumed: Promise<void> | undefined, done: PublishDone): PublishDone {
  if (!consumed) return done;
  return (err, matched) => {
    consumed.then(
      () => done(err, matched),
      (hookErr: unknown) =>
        done(err ?? (hookErr instanceof Error ? hookErr : new Error(String(hookErr))), matched),
    );
  };
}

export function handlePublish(conn: MqttConnection, packet: mqtt.IPublishPacket): void {
  const { broker } = conn;
  const session = conn.session;
  const identity = conn.identity;
  if (!session || !identity) return;
  broker.stats.publishReceived++;
  const v5 = conn.protocolVersion === 5;
  const props = packet.properties;

  let topic = packet.topic;
  if (v5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    if (alias === 0 || alias > broker.options.topicAliasMaximum) {
      conn.protocolViolation(
        RC.TOPIC_ALIAS_INVALID,
        `topic alias ${alias} is outside 1..${broker.options.topicAliasMaximum}`,
      );
      return;
    }
    if (topic === '') {
      const known = conn.inboundAliases?.get(alias);
      if (known === undefined) {
        conn.protocolViolation(RC.PROTOCOL_ERROR, `topic alias ${alias} was never defined`);
        return;
      }
      topic = known;
    } else {
      (conn.inboundAliases ??= new Map<number, string>()).set(alias, topic);
    }
  }
  const problem = topicNameProblem(topic);
  if (problem) {
    const reason =
      problem === 'bad-utf8' || problem === 'null-char' ? RC.MALFORMED_PACKET : RC.TOPIC_NAME_INVALID;
    conn.protocolViolation(reason, `invalid topic name in PUBLISH (${problem})`);
    return;
  }
  if (props?.responseTopic !== undefined && topicNameProblem(props.responseTopic)) {
    conn.protocolViolation(RC.PROTOCOL_ERROR, 'invalid response topic');
    return;
  }
  if (packet.qos > 0 && conn.inboundUnacked >= broker.options.receiveMaximum) {
    conn.protocolViolation(
      RC.RECEIVE_MAXIMUM_EXCEEDED,
      'more unacknowledged QoS 1/2 publishes than Receive Maximum',
    );
    return;
  }
  // The reader hands out a view into the socket's chunk; a message that outlives this turn
  // (retained, or queued at QoS 1/2) gets its own copy so it does not pin the whole chunk.
  const payload =
    typeof packet.payload === 'string'
      ? Buffer.from(packet.payload)
      : packet.retain || packet.qos > 0
        ? Buffer.from(packet.payload)
        : packet.payload;
  if (v5 && props?.payloadFormatIndicator && !isUtf8(payload)) {
    refuse(conn, packet, RC.PAYLOAD_FORMAT_INVALID, 'payload is marked UTF-8 but is not');
    return;
  }
  // $SYS is the broker's own, and a tenant's client has no `$` topics at all (its `$` would escape the
  // mount point). Other `$` topics (a platform admin's `$t/<tenant>/…`) need an explicit ACL grant:
  // patterns starting with a wildcard never match them.
  if (topic.startsWith('$') && (identity.mountPoint !== '' || topic.startsWith('$SYS'))) {
    refuse(conn, packet, RC.NOT_AUTHORIZED, 'topics starting with $ are reserved for the broker');
    return;
  }
  if (!identity.canPublish(topic)) {
    refuse(conn, packet, RC.NOT_AUTHORIZED, 'not allowed to publish to this topic');
    return;
  }
  const quotaVerdict = identity.admitPublish?.(payload.length, broker.now());
  if (quotaVerdict) {
    broker.stats.publishQuotaRejections++;
    // 0x96 is a DISCONNECT reason only (MQTT 5 §3.14.2.1); 3.1.1 cannot refuse one message, and
    // acknowledging and dropping it would hide the limit from the client.
    if (!v5 || quotaVerdict === RC.MESSAGE_RATE_TOO_HIGH) {
      conn.log.info({ ...conn.logContext(), reason: quotaVerdict }, 'publish quota exceeded; disconnecting');
      conn.disconnect(quotaVerdict, 'publish rate or quota exceeded');
      return;
    }
    refuse(conn, packet, quotaVerdict, 'publish quota exceeded');
    return;
  }
  const hooked = broker.deps.publishHook?.onPublish(identity, topic, payload, packet.qos);
  if (hooked && 'refuse' in hooked) {
    refuse(conn, packet, hooked.refuse.reason, hooked.refuse.message);
    return;
  }
  const consumed = hooked?.durable;
  const packetId = packet.messageId ?? 0;
  if (packet.qos === 2 && session.inboundQos2.has(packetId)) {
    // A re-sent QoS 2 PUBLISH we already routed: acknowledge again, deliver nothing (exactly once).
    conn.reserveAck()({ cmd: 'pubrec', messageId: packetId });
    return;
  }

  const now = broker.now();
  const message: Message = {
    topic: identity.mountPoint + topic,
    payload,
    qos: packet.qos,
    retain: packet.retain,
    properties: v5 ? copyProperties(props, identity.mountPoint) : undefined,
    expiresAt:
      props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : undefined,
    origin: conn.clientId,
  };
  if (packet.qos === 0) {
    if (!(hooked && 'private' in hooked && hooked.private)) broker.publish(message);
    consumed?.catch((err: unknown) =>
      conn.log.warn({ ...conn.logContext(), err }, 'QoS 0 message not stored'),
    );
    return;
  }

  conn.inboundUnacked++;
  const complete = conn.reserveAck();
  // The QoS 2 packet id is made durable in the same commit as the message, so a PUBREC always means both.
  const extraOps = packet.qos === 2 ? broker.rememberInboundQos2(session, packetId) : undefined;
  broker.publish(
    message,
    afterConsumed(consumed, (err, matched) => {
      if (packet.qos === 1) conn.inboundUnacked = Math.max(0, conn.inboundUnacked - 1);
      if (err) {
        conn.log.error({ ...conn.logContext(), err }, 'could not make a message durable');
        if (packet.qos === 2) broker.forgetInboundQos2(session, packetId);
        if (v5) {
          complete({
            cmd: packet.qos === 1 ? 'puback' : 'pubrec',
            messageId: packetId,
            // A consumer that is behind (HalyardError QUOTA_EXCEEDED) says so; the client may retry later.
            reasonCode: isHalyardError(err, 'QUOTA_EXCEEDED') ? RC.QUOTA_EXCEEDED : RC.UNSPECIFIED_ERROR,
          });
        } else {
          // 3.1.1 cannot say "not accepted": closing makes the client send it again.
          complete(undefined);
          conn.destroy();
        }
        return;
      }
      const reasonCode = v5 && !matched ? RC.NO_MATCHING_SUBSCRIBERS : undefined;
      complete({ cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packetId, reasonCode });
    }),
    extraOps,
  );
}

export function handlePubrel(conn: MqttConnection, packetId: number): void {
  const session = conn.session;
  if (!session) return;
  const known = session.inboundQos2.has(packetId);
  const reasonCode = conn.protocolVersion === 5 && !known ? RC.PACKET_IDENTIFIER_NOT_FOUND : undefined;
  const complete = conn.reserveAck();
  const pubcomp = () => complete({ cmd: 'pubcomp', messageId: packetId, reasonCode });
  if (!known) {
    pubcomp();
    return;
  }
  conn.inboundUnacked = Math.max(0, conn.inboundUnacked - 1);
  // PUBCOMP only once the packet id is forgotten durably: a stale id surviving a crash
  // would make the client's next PUBLISH that reuses it look like a duplicate and be lost.
  conn.broker.forgetInboundQos2(session, packetId, pubcomp);
}
