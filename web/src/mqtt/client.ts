/** A small MQTT 3.1.1 client over WebSocket (`/mqtt`, subprotocol `mqtt`) for the console page. */
import {
  connectPacket,
  disconnectPacket,
  PacketReader,
  PacketType,
  pingreqPacket,
  pubackPacket,
  publishPacket,
  subscribePacket,
  unsubscribePacket,
  type Packet,
  type Qos,
} from './packets.js';

export interface MqttMessage {
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: boolean;
}

const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

const KEEPALIVE_S = 30;
const TIMEOUT_MS = 10_000;

export class MqttClient {
  private readonly reader = new PacketReader();
  private nextId = 1;
  private readonly pending = new Map<number, (p: Packet) => void>();
  private ping: ReturnType<typeof setInterval> | undefined;
  onMessage: (m: MqttMessage) => void = () => undefined;
  onClose: (reason: string) => void = () => undefined;

  private constructor(private readonly socket: WebSocket) {}

  static connect(o: { clientId: string; username?: string; password?: string }): Promise<MqttClient> {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/mqtt`, 'mqtt');
    socket.binaryType = 'arraybuffer';
    const client = new MqttClient(socket);
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        clearTimeout(timer);
        socket.close();
        reject(new Error(reason));
      };
      const timer = setTimeout(() => fail('no answer from the broker'), TIMEOUT_MS);
      socket.onopen = () => socket.send(connectPacket({ ...o, keepalive: KEEPALIVE_S }));
      socket.onerror = () => fail('could not open the WebSocket');
      socket.onclose = () => fail('the broker closed the connection');
      socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
        const connack = client.reader
          .push(new Uint8Array(event.data))
          .find((p) => p.type === PacketType.Connack);
        if (!connack) return;
        clearTimeout(timer);
        if (connack.returnCode !== 0) {
          fail(`refused: ${CONNACK_REASONS[connack.returnCode] ?? `code ${connack.returnCode}`}`);
          return;
        }
        client.attach();
        resolve(client);
      };
    });
  }

  private attach(): void {
    this.socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      for (const p of this.reader.push(new Uint8Array(event.data))) this.handle(p);
    };
    this.socket.onclose = () => {
      clearInterval(this.ping);
      for (const settle of this.pending.values()) settle({ type: PacketType.Pingresp });
      this.pending.clear();
      this.onClose('connection closed');
    };
    this.ping = setInterval(() => this.socket.send(pingreqPacket()), (KEEPALIVE_S * 1000) / 2);
  }

  private handle(p: Packet): void {
    if (p.type === PacketType.Publish) {
      if (p.qos === 1 && p.id !== undefined) this.socket.send(pubackPacket(p.id));
      this.onMessage({ topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain });
      return;
    }
    if ('id' in p) {
      this.pending.get(p.id)?.(p);
      this.pending.delete(p.id);
    }
  }

  private request(build: (id: number) => Uint8Array): Promise<Packet> {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('no acknowledgement from the broker'));
      }, TIMEOUT_MS);
      this.pending.set(id, (p) => {
        clearTimeout(timer);
        if (p.type === PacketType.Pingresp) reject(new Error('connection closed'));
        else resolve(p);
      });
      this.socket.send(build(id));
    });
  }

  async publish(topic: string, payload: string, o: { qos: Qos; retain: boolean }): Promise<void> {
    if (o.qos === 0) {
      this.socket.send(publishPacket({ topic, payload, ...o, id: 0 }));
      return;
    }
    await this.request((id) => publishPacket({ topic, payload, ...o, id }));
  }

  /** Resolves with the granted QoS; 0x80 means the broker refused the filter. */
  async subscribe(filter: string, qos: Qos): Promise<number> {
    const ack = await this.request((id) => subscribePacket(id, filter, qos));
    return ack.type === PacketType.Suback ? ack.granted[0] : 0x80;
  }

  async unsubscribe(filter: string): Promise<void> {
    await this.request((id) => unsubscribePacket(id, filter));
  }

  end(): void {
    clearInterval(this.ping);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(disconnectPacket());
    this.socket.close();
  }
}
