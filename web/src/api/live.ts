/**
 * The live feed: one WebSocket to /api/live per tab, authenticated by the
 * session cookie, reconnecting with backoff. Pages subscribe to message types;
 * the device page narrows telemetry to the devices it shows.
 */
import type { AuditEntry, Role, TelemetryValue, User } from './types.js';

export type LiveMessage =
  | { type: 'hello'; user: User; tenantId: string | null; role: Role }
  | {
      type: 'telemetry';
      tenantId: string;
      deviceId: string;
      ts: number;
      values: Record<string, TelemetryValue>;
    }
  | { type: 'presence'; tenantId: string; deviceId: string; online: boolean; at: number; cause?: string }
  | {
      type: 'stats';
      at: number;
      messagesPerSecond: number;
      pointsPerSecond: number;
      devicesOnline: number;
      connections: number;
    }
  | { type: 'audit'; entry: AuditEntry }
  | { type: 'error'; message: string };

export type LiveType = LiveMessage['type'];
export type LiveOf<T extends LiveType> = Extract<LiveMessage, { type: T }>;
export type LiveStatus = 'connecting' | 'open' | 'closed';

type Listener = (message: LiveMessage) => void;

const MAX_BACKOFF_MS = 10_000;

export class LiveFeed {
  private socket: WebSocket | undefined;
  private readonly listeners = new Map<LiveType, Set<Listener>>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  /** Devices each watcher asked for; the socket is sent their union. */
  private readonly watches = new Map<symbol, readonly string[]>();
  private backoffMs = 500;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  status: LiveStatus = 'closed';

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.socket?.close();
    this.socket = undefined;
    this.setStatus('closed');
  }

  on<T extends LiveType>(type: T, listener: (message: LiveOf<T>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const l = listener as Listener;
    set.add(l);
    return () => set.delete(l);
  }

  onStatus(listener: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Narrow telemetry to these devices until the returned function is called. */
  watch(deviceIds: readonly string[]): () => void {
    const key = Symbol('watch');
    this.watches.set(key, deviceIds);
    this.sendWatch();
    return () => {
      this.watches.delete(key);
      this.sendWatch();
    };
  }

  private sendWatch(): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    const ids = new Set<string>();
    for (const list of this.watches.values()) for (const id of list) ids.add(id);
    this.socket.send(JSON.stringify({ type: 'watch', deviceIds: [...ids] }));
  }

  private connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    this.socket = socket;
    this.setStatus('connecting');
    socket.onopen = () => {
      this.backoffMs = 500;
      this.setStatus('open');
      this.sendWatch();
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      let message: LiveMessage;
      try {
        message = JSON.parse(event.data) as LiveMessage;
      } catch {
        return;
      }
      for (const l of this.listeners.get(message.type) ?? []) l(message);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.setStatus('closed');
      if (this.stopped) return;
      this.retry = setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    };
  }

  private setStatus(status: LiveStatus): void {
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }
}
