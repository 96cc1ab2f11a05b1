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
export interface ListenersConfig {
  mqtt: TcpListenerConfig;
  mqtts: TlsListenerConfig;
  http: TcpListenerConfig;
  https: TlsListenerConfig;
}

export type ListenerName = keyof ListenersConfig;

export interface ListenAddress {
  host: string;
  port: number;
}
