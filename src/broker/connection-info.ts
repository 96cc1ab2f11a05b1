/** What a transport knows about a connection when it hands the stream to the broker. */
export interface ConnectionInfo {
  /** Listener name: "mqtt", "mqtts", "ws", "wss" … */
  listener: string;
  remoteAddress: string;
  remotePort?: number;
  allowAnonymous: boolean;
  peerCertificate?: { subject?: Record<string, string>; subjectaltname?: string; fingerprint256?: string };
}
