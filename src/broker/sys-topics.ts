import type { BrokerStats } from './stats.js';

/**
 * `$SYS/broker/...` values in Mosquitto's naming, so existing dashboards and
 * scripts that read Mosquitto's $SYS tree work against Halyard unchanged.
 */
export function sysTopicValues(stats: BrokerStats, version: string, now: number): [string, string][] {
  return [
    ['$SYS/broker/version', `halyard ${version}`],
    ['$SYS/broker/uptime', `${stats.uptimeSeconds(now)} seconds`],
    ['$SYS/broker/clients/connected', String(stats.clientsConnected)],
    ['$SYS/broker/clients/active', String(stats.clientsConnected)],
    ['$SYS/broker/clients/disconnected', String(Math.max(0, stats.sessions - stats.clientsConnected))],
    ['$SYS/broker/clients/total', String(stats.sessions)],
    ['$SYS/broker/clients/maximum', String(stats.clientsMaximum)],
    ['$SYS/broker/connections/total', String(stats.connectionsTotal)],
    ['$SYS/broker/messages/received', String(stats.messagesReceived)],
    ['$SYS/broker/messages/sent', String(stats.messagesSent)],
    ['$SYS/broker/publish/messages/received', String(stats.publishReceived)],
    ['$SYS/broker/publish/messages/sent', String(stats.publishSent)],
    ['$SYS/broker/publish/messages/dropped', String(stats.publishDropped)],
    ['$SYS/broker/bytes/received', String(stats.bytesReceived)],
    ['$SYS/broker/bytes/sent', String(stats.bytesSent)],
    ['$SYS/broker/subscriptions/count', String(stats.subscriptions)],
    ['$SYS/broker/retained messages/count', String(stats.retained)],
  ];
}
