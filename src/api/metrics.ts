import type { BrokerStats } from '../broker/stats.js';

export interface MetricSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

/** Content type of the Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const counter = (name: string, help: string, value: number): MetricSample => ({
  name,
  help,
  type: 'counter',
  value,
});

export const gauge = (name: string, help: string, value: number): MetricSample => ({
  name,
  help,
  type: 'gauge',
  value,
});

function brokerSamples(stats: BrokerStats, now: number): MetricSample[] {
  return [
    gauge('halyard_clients_connected', 'MQTT clients currently connected.', stats.clientsConnected),
    counter(
      'halyard_connections_total',
      'MQTT connections accepted (successful CONNACK).',
      stats.connectionsTotal,
    ),
    gauge('halyard_sessions', 'MQTT sessions known, connected or not.', stats.sessions),
    counter('halyard_messages_received_total', 'MQTT packets received.', stats.messagesReceived),
    counter('halyard_messages_sent_total', 'MQTT packets sent.', stats.messagesSent),
    counter('halyard_publish_received_total', 'PUBLISH packets received.', stats.publishReceived),
    counter('halyard_publish_sent_total', 'PUBLISH packets sent.', stats.publishSent),
    counter(
      'halyard_publish_dropped_total',
      'PUBLISH packets dropped (queue full, expired).',
      stats.publishDropped,
    ),
    counter(
      'halyard_publish_quota_rejections_total',
      'PUBLISH packets refused by a per-device publish quota (MQTT 5 reason 0x96/0x97).',
      stats.publishQuotaRejections,
    ),
    counter('halyard_bytes_received_total', 'Bytes received from MQTT clients.', stats.bytesReceived),
    counter('halyard_bytes_sent_total', 'Bytes sent to MQTT clients.', stats.bytesSent),
    gauge('halyard_subscriptions', 'Active subscriptions.', stats.subscriptions),
    gauge('halyard_retained_messages', 'Retained messages stored.', stats.retained),
    counter('halyard_malformed_packets_total', 'Malformed packets received.', stats.malformedPackets),
    counter('halyard_auth_failures_total', 'Failed authentication attempts.', stats.authFailures),
    gauge('halyard_uptime_seconds', 'Seconds since the broker started.', stats.uptimeSeconds(now)),
  ];
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/**
 * Renders broker counters (plus any `extra` samples) in the Prometheus text format.
 * Samples sharing a name are grouped under one HELP/TYPE header, as the format requires.
 */
export function renderMetrics(stats: BrokerStats, extra: MetricSample[] = [], now = Date.now()): string {
  const families = new Map<string, MetricSample[]>();
  for (const sample of [...brokerSamples(stats, now), ...extra]) {
    const family = families.get(sample.name);
    if (family) family.push(sample);
    else families.set(sample.name, [sample]);
  }
  const lines: string[] = [];
  for (const [name, samples] of families) {
    lines.push(`# HELP ${name} ${escapeHelp(samples[0].help)}`, `# TYPE ${name} ${samples[0].type}`);
    for (const s of samples) lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}
