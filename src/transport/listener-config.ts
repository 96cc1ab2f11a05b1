/** Listener settings as produced by the configuration schema (core/config). */
export interface TcpListenerConfig {
  enabled: boolean;
  host: string;
  port: number;
  allowAnonymous: boolean;
}
export interface TlsListenerConfig extends TcpListenerConfig {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  requestClientCert: boolean;
}
/** The line protocol (docs/line-protocol.md); its TLS variant uses the mqtts certificate. */
export interface LineListenerConfig {
  enabled: boolean;
  host: string;
  port: number;
  /** Conversations at once; clients beyond it wait in line (WAIT). */
  maxConversations: number;
  /** Connections that may wait; beyond it a newcomer gets ERR busy. */
  maxWaiting: number;
  maxFrameLength: number;
  idleTimeoutSeconds: number;
  authTimeoutSeconds: number;
}
export interface ListenersConfig {
  mqtt: TcpListenerConfig;
  mqtts: TlsListenerConfig;
  http: TcpListenerConfig;
  https: TlsListenerConfig;
}
/** The line-protocol listeners beside them; absent = off. */
export interface LineListenersConfig {
  line?: LineListenerConfig;
  lines?: LineListenerConfig;
}

export type ListenerName = keyof ListenersConfig | keyof LineListenersConfig;

export interface ListenAddress {
  host: string;
  port: number;
}
