import { counter, gauge, type MetricSample } from '../api/metrics.js';
import type { TelemetryIngest } from './ingest.js';
import type { TelemetryHookStats } from './mqtt-ingest.js';

/** Telemetry's samples for /metrics: what was stored, refused, and what waits. */
export function telemetrySamples(ingest: TelemetryIngest, mqtt: TelemetryHookStats): MetricSample[] {
  const { stats } = ingest;
  return [
    counter(
      'halyard_telemetry_points_written_total',
      'Telemetry data points made durable.',
      stats.pointsWritten,
    ),
    counter(
      'halyard_telemetry_transactions_total',
      'Telemetry write transactions (group commits).',
      stats.transactions,
    ),
    gauge(
      'halyard_telemetry_pending_points',
      'Telemetry data points waiting for their transaction.',
      ingest.pending,
    ),
    counter(
      'halyard_telemetry_rejected_busy_total',
      'Telemetry messages refused because storage was behind (MQTT 0x97, HTTP 503).',
      stats.rejectedBusy,
    ),
    counter(
      'halyard_telemetry_points_failed_total',
      'Telemetry data points whose write failed.',
      stats.pointsFailed,
    ),
    counter(
      'halyard_telemetry_mqtt_messages_stored_total',
      'Telemetry messages over MQTT stored.',
      mqtt.messagesStored,
    ),
    counter(
      'halyard_telemetry_mqtt_messages_rejected_total',
      'Telemetry messages over MQTT refused for their payload (PUBACK 0x99).',
      mqtt.messagesRejected,
    ),
  ];
}
