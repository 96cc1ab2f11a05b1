/** What a simulation has done so far: counters the devices bump and the progress line reads. */
export class SimulationStats {
  /** Devices taking part. */
  devices = 0;
  /** Devices with an open MQTT connection right now. */
  connected = 0;
  /** Every device has been connected at the same time (at least once). */
  allConnected = false;
  /** Messages handed to the MQTT client. */
  sent = 0;
  /** QoS 1/2 messages the broker acknowledged (PUBACK / PUBCOMP without an error code). */
  acknowledged = 0;
  /** Refused connections, refused messages, lost connections. */
  errors = 0;
  dropouts = 0;
  lastError: string | undefined;
  readonly startedAt: number;

  constructor(
    readonly qos: 0 | 1 | 2,
    now = Date.now(),
  ) {
    this.startedAt = now;
  }

  connectionOpened(): void {
    this.connected++;
    if (this.connected === this.devices) this.allConnected = true;
  }

  connectionClosed(): void {
    this.connected--;
  }

  error(message: string): void {
    this.errors++;
    this.lastError = message;
  }

  summary(now = Date.now()): SimulationSummary {
    return {
      devices: this.devices,
      qos: this.qos,
      sent: this.sent,
      acknowledged: this.acknowledged,
      errors: this.errors,
      dropouts: this.dropouts,
      durationMs: now - this.startedAt,
      lastError: this.lastError,
    };
  }
}

export interface SimulationSummary {
  devices: number;
  qos: 0 | 1 | 2;
  sent: number;
  acknowledged: number;
  errors: number;
  dropouts: number;
  durationMs: number;
  lastError?: string;
}
