import type * as mqtt from 'mqtt-packet';
import type { MqttConnection } from './connection.js';
import type { QoS } from './message.js';
import { RC } from './reason-codes.js';
import { subscriptionKey, type Subscription } from './subscription.js';
import { parseSharedFilter, topicFilterProblem } from './topics.js';

/** 3.1.1 has a single failure code in SUBACK. */
const V3_FAILURE = 0x80;

export function handleSubscribe(conn: MqttConnection, packet: mqtt.ISubscribePacket): void {
  const { broker } = conn;
  const session = conn.session;
  const identity = conn.identity;
  if (!session || !identity) return;
  const v5 = conn.protocolVersion === 5;
  const failure = (reason: number): number => (v5 ? reason : V3_FAILURE);
  const subscriptionIdentifier = v5 ? packet.properties?.subscriptionIdentifier : undefined;
  if (packet.subscriptions.length === 0) {
    // MQTT-3.8.3-3: at least one filter (mqtt-packet parses an empty one, but cannot encode the empty SUBACK).
    conn.protocolViolation(RC.PROTOCOL_ERROR, 'SUBSCRIBE without a topic filter');
    return;
  }
  const codes: number[] = [];
  const granted: { sub: Subscription; isNew: boolean; requested: string }[] = [];

  for (const request of packet.subscriptions) {
    const shared = parseSharedFilter(request.topic);
    if (shared === null) {
      codes.push(failure(RC.TOPIC_FILTER_INVALID));
      continue;
    }
    const filter = shared ? shared.filter : request.topic;
    const problem = topicFilterProblem(filter);
    if (problem === 'bad-utf8' || problem === 'null-char') {
      conn.protocolViolation(RC.MALFORMED_PACKET, `topic filter is not valid UTF-8 (${problem})`);
      return;
    }
    if (problem) {
      codes.push(failure(RC.TOPIC_FILTER_INVALID));
      continue;
    }
    if (shared && v5 && request.nl) {
      // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
      conn.protocolViolation(RC.PROTOCOL_ERROR, 'No Local set on a shared subscription');
      return;
    }
    // A tenant's client has no `$` topics: `$SYS` is platform-wide and `$t/…` holds other tenants.
    if ((identity.mountPoint !== '' && filter.startsWith('$')) || !identity.canSubscribe(filter)) {
      codes.push(failure(RC.NOT_AUTHORIZED));
      continue;
    }
    const sub: Subscription = {
      filter: identity.mountPoint + filter,
      qos: Math.min(request.qos, 2) as QoS,
      noLocal: v5 && request.nl === true,
      retainAsPublished: v5 && request.rap === true,
      retainHandling: v5 ? ((request.rh ?? 0) as 0 | 1 | 2) : 0,
    };
    if (shared) sub.shareGroup = shared.group;
    if (subscriptionIdentifier !== undefined) sub.subscriptionIdentifier = subscriptionIdentifier;
    const isNew = broker.subscribe(session, sub);
    codes.push(sub.qos);
    granted.push({ sub, isNew, requested: request.topic });
  }

  // The SUBACK promises that the subscription survives a restart, so it waits for the store.
  broker.persistSession(session, (err) => {
    if (err) {
      conn.log.error({ ...conn.logContext(), err }, 'could not store subscriptions');
      conn.disconnect(RC.UNSPECIFIED_ERROR, 'subscriptions could not be stored');
      return;
    }
    conn.writePacket({ cmd: 'suback', messageId: packet.messageId, granted: codes });
    const observer = broker.deps.observer;
    for (const { sub, isNew, requested } of granted) {
      observer?.subscribed?.(conn.view(identity), requested);
      if (sub.shareGroup !== undefined) continue; // MQTT-3.8.4-? shared subscriptions get no retained messages
      if (sub.retainHandling === 2 || (sub.retainHandling === 1 && !isNew)) continue;
      broker.sendRetained(session, sub);
    }
  });
}

export function handleUnsubscribe(conn: MqttConnection, packet: mqtt.IUnsubscribePacket): void {
  const { broker } = conn;
  const session = conn.session;
  const identity = conn.identity;
  if (!session || !identity) return;
  if (packet.unsubscriptions.length === 0) {
    conn.protocolViolation(RC.PROTOCOL_ERROR, 'UNSUBSCRIBE without a topic filter'); // MQTT-3.10.3-2
    return;
  }
  const codes: number[] = [];
  for (const requested of packet.unsubscriptions) {
    const shared = parseSharedFilter(requested);
    const filter = shared ? shared.filter : requested;
    const key = subscriptionKey({
      filter: identity.mountPoint + filter,
      shareGroup: shared?.group,
    });
    codes.push(broker.unsubscribe(session, key) ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED);
  }
  broker.persistSession(session, (err) => {
    if (err) {
      conn.disconnect(RC.UNSPECIFIED_ERROR, 'subscriptions could not be stored');
      return;
    }
    const unsuback: mqtt.IUnsubackPacket = { cmd: 'unsuback', messageId: packet.messageId, granted: [] };
    if (conn.protocolVersion === 5) unsuback.granted = codes;
    conn.writePacket(unsuback);
  });
}
