import type { MetricSample } from '../../api/metrics.js';
import { DEFAULT_BROKER_OPTIONS } from '../../broker/options.js';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ConnectionSink } from '../connection-sink.js';
import type { LineListenersConfig } from '../listener-config.js';
import type { TlsMaterial } from '../tls-material.js';
import type { LineGate } from './gate.js';
import { startLineListener, type RunningLineServer } from './listener.js';

export type { LineGate, LineLogin, LinePeer, LineProof } from './gate.js';
export { inboxFilter, inboxTopic } from './gate.js';

export interface StartedLineListeners {
  servers: RunningLineServer[];
  samples(): MetricSample[];
}

/**
 * Starts the enabled line-protocol listeners (TCP `line`, TLS `lines` with the
 * mqtts certificate). Each started server is pushed to `started` at once, so
 * the caller can close it if a later listener fails.
 */
export async function startLineListeners(
  sink: ConnectionSink & { options?: { maxPacketSize?: number } },
  config: LineListenersConfig,
  deps: { gate?: LineGate; logger: Logger; mqttsMaterial: () => Promise<TlsMaterial> },
  started: { push(server: RunningLineServer): void },
): Promise<StartedLineListeners> {
  const servers: RunningLineServer[] = [];
  for (const name of ['line', 'lines'] as const) {
    const cfg = config[name];
    if (!cfg?.enabled) continue;
    if (!deps.gate) {
      throw new HalyardError(
        'CONFIG_INVALID',
        `listeners.${name} needs the device registry to log devices in`,
      );
    }
    const server = await startLineListener(name, cfg, {
      sink,
      gate: deps.gate,
      maxPacketSize: sink.options?.maxPacketSize ?? DEFAULT_BROKER_OPTIONS.maxPacketSize,
      logger: deps.logger,
      tls: name === 'lines' ? await deps.mqttsMaterial() : undefined,
    });
    started.push(server);
    servers.push(server);
  }
  return { servers, samples: () => servers.flatMap((s) => s.stats.samples()) };
}
