import type * as mqtt from 'mqtt-packet';
import type { AuthFailure, AuthResult } from './auth.js';
import { MqttConnection } from './connection.js';
import type { Message, MessageProperties } from './message.js';
import { RC } from './reason-codes.js';
import { NEVER_EXPIRES } from './session.js';
import { topicNameProblem } from './topics.js';

/** A will message and its MQTT 5 Will Delay Interval (seconds). */
export interface WillSpec {
  message: Message;
  delay: number;
  /** Message Expiry Interval (seconds), counted from when the will is published. */
  expiryInterval?: number;
}

const AUTH_FAILURE_REASON: Record<AuthFailure, number> = {
  'bad-credentials': RC.BAD_USERNAME_OR_PASSWORD,
  'not-authorized': RC.NOT_AUTHORIZED,
  banned: RC.BANNED,
  'server-busy': RC.SERVER_BUSY,
  'connection-rate-exceeded': RC.CONNECTION_RATE_EXCEEDED,
  'quota-exceeded': RC.QUOTA_EXCEEDED,
};

function clientIdProblem(id: string): boolean {
  return id.includes('\u0000') || id.includes('\uFFFD');
}

/**
 * Handles CONNECT: validates it, authenticates, binds the session (taking over a
 * live one with the same client id), answers CONNACK and resumes delivery.
 */
export function acceptConnect(conn: MqttConnection, packet: mqtt.IConnectPacket): void {
  const { broker } = conn;
  const options = broker.options;
  const v5 = conn.protocolVersion === 5;
  const props = packet.properties ?? {};

  if (v5) {
    if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
      conn.protocolViolation(RC.PROTOCOL_ERROR, 'Receive Maximum and Maximum Packet Size must not be 0');
      return;
    }
    conn.clientReceiveMaximum = props.receiveMaximum ?? 65535;
    conn.clientMaxPacketSize = props.maximumPacketSize ?? 0;
    conn.clientTopicAliasMaximum = props.topicAliasMaximum ?? 0;
    conn.requestProblemInformation = props.requestProblemInformation ?? true;
    if (props.authenticationMethod !== undefined) {
      conn.refuseConnect(RC.BAD_AUTHENTICATION_METHOD, 'enhanced authentication is not supported');
      return;
    }
  }

  let clientId = packet.clientId;
  let assignedClientId: string | undefined;
  if (clientId === '') {
    // MQTT 3.1 requires an id; 3.1.1 allows an empty one only with a clean session.
    if (conn.protocolVersion === 3 || (conn.protocolVersion === 4 && !packet.clean)) {
      conn.refuseConnect(RC.CLIENT_IDENTIFIER_NOT_VALID, 'empty client id needs a clean session');
      return;
    }
    clientId = assignedClientId = MqttConnection.assignedClientId();
  }
  conn.clientId = clientId;
  if (clientIdProblem(clientId)) {
    conn.refuseConnect(RC.CLIENT_IDENTIFIER_NOT_VALID, 'client id is not valid UTF-8');
    return;
  }
  const requestedExpiry = v5 ? (props.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;
  const expiry = Math.min(requestedExpiry, options.maxSessionExpiry);

  let keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (keepAlive > options.maxKeepAlive || (v5 && keepAlive === 0)) {
    if (!v5 && keepAlive > options.maxKeepAlive) {
      // 3.x has no Server Keep Alive: a client we could not hold to its promise is refused.
      conn.refuseConnect(RC.CLIENT_IDENTIFIER_NOT_VALID, 'keep-alive above the maximum');
      return;
    }
    keepAlive = serverKeepAlive = options.maxKeepAlive;
  }

  let will: WillSpec | undefined;
  if (packet.will) {
    const problem = topicNameProblem(packet.will.topic);
    if (problem || packet.will.topic.startsWith('$')) {
      conn.refuseConnect(RC.TOPIC_NAME_INVALID, `will topic is not valid (${problem ?? 'reserved $ topic'})`);
      return;
    }
    const willProps = packet.will.properties ?? {};
    const properties: MessageProperties = {};
    if (willProps.payloadFormatIndicator !== undefined)
      properties.payloadFormatIndicator = willProps.payloadFormatIndicator;
    if (willProps.contentType !== undefined) properties.contentType = willProps.contentType;
    if (willProps.responseTopic !== undefined) properties.responseTopic = willProps.responseTopic;
    if (willProps.correlationData !== undefined) properties.correlationData = willProps.correlationData;
    if (willProps.userProperties !== undefined) properties.userProperties = willProps.userProperties;
    will = {
      delay: willProps.willDelayInterval ?? 0,
      expiryInterval: willProps.messageExpiryInterval,
      message: {
        topic: packet.will.topic,
        payload: Buffer.isBuffer(packet.will.payload)
          ? packet.will.payload
          : Buffer.from(packet.will.payload),
        qos: packet.will.qos ?? 0,
        retain: packet.will.retain ?? false,
        properties: Object.keys(properties).length > 0 ? properties : undefined,
        origin: clientId,
      },
    };
  }

  const onResult = (result: AuthResult): void => {
    if (conn.state !== 'authenticating') return;
    if (!result.ok) {
      broker.stats.authFailures++;
      conn.log.info(
        { ...conn.logContext(), username: packet.username, reason: result.reason },
        'connection refused',
      );
      conn.refuseConnect(AUTH_FAILURE_REASON[result.reason], result.message);
      return;
    }
    const identity = result.identity;
    // Sessions are keyed within the identity's scope: an equal client id elsewhere is another session.
    const sessionKey = identity.sessionScope + clientId;
    if (will) {
      if (!identity.canPublish(will.message.topic)) {
        conn.refuseConnect(RC.NOT_AUTHORIZED, 'not allowed to publish to the will topic');
        return;
      }
      will.message.topic = identity.mountPoint + will.message.topic;
      will.message.origin = sessionKey;
      const responseTopic = will.message.properties?.responseTopic;
      if (responseTopic !== undefined && will.message.properties)
        will.message.properties.responseTopic = identity.mountPoint + responseTopic;
    }
    conn.will = will;
    conn.clientId = sessionKey;
    const { session, sessionPresent } = broker.attachSession(conn, {
      clientId: sessionKey,
      expiryInterval: expiry,
      cleanStart: packet.clean ?? true,
      protocolVersion: conn.protocolVersion,
    });
    const connack: mqtt.IConnackPacket = { cmd: 'connack', sessionPresent };
    if (v5) {
      connack.reasonCode = RC.SUCCESS;
      connack.properties = {
        receiveMaximum: options.receiveMaximum,
        maximumPacketSize: options.maxPacketSize,
        topicAliasMaximum: options.topicAliasMaximum,
      };
      if (assignedClientId) connack.properties.assignedClientIdentifier = assignedClientId;
      if (serverKeepAlive !== undefined) connack.properties.serverKeepAlive = serverKeepAlive;
      if (expiry !== requestedExpiry) connack.properties.sessionExpiryInterval = expiry;
    } else {
      connack.returnCode = 0;
    }
    conn.writePacket(connack);
    conn.log.debug({ ...conn.logContext(), identity: identity.name, sessionPresent }, 'client connected');
    // Before connected(): packets pipelined behind CONNECT may close the connection, and the observer
    // must hear of the start before the end.
    broker.deps.observer?.clientConnected(conn.view(identity));
    conn.connected(session, identity, keepAlive);
    broker.resumeDelivery(session);
    // A resumed session's subscriptions are this connection's too: observers hear of them as of new grants.
    const observer = broker.deps.observer;
    if (sessionPresent && observer?.subscribed) {
      for (const sub of session.subscriptions.values()) {
        const filter = sub.filter.slice(identity.mountPoint.length);
        observer.subscribed(
          conn.view(identity),
          sub.shareGroup ? `$share/${sub.shareGroup}/${filter}` : filter,
        );
      }
    }
  };

  if (broker.connectedCount() + broker.authenticating >= options.maxConnections) {
    conn.log.warn(conn.logContext(), 'maximum connections reached; refusing');
    conn.refuseConnect(RC.SERVER_BUSY, 'maximum connections reached');
    return;
  }
  // Counted from here until the authentication settles, whatever its outcome (see Broker.authenticating).
  broker.authenticating++;
  const known = conn.info.identity;
  const authenticated: Promise<AuthResult> = known
    ? Promise.resolve({ ok: true, identity: known })
    : broker.deps.authenticator.authenticate({
        clientId,
        username: packet.username,
        password: packet.password,
        listener: conn.info.listener,
        remoteAddress: conn.info.remoteAddress,
        allowAnonymous: conn.info.allowAnonymous,
        peerCertificate: conn.info.peerCertificate,
      });
  authenticated.then(
    (result) => {
      broker.authenticating--;
      onResult(result);
    },
    (err: unknown) => {
      broker.authenticating--;
      conn.log.error({ ...conn.logContext(), err }, 'authenticator failed');
      if (conn.state === 'authenticating') conn.refuseConnect(RC.UNSPECIFIED_ERROR, 'authentication failed');
    },
  );
}
