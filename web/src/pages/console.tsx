/**
 * MQTT console: the browser connects to the broker over WebSocket (/mqtt) as the
 * signed-in person, inside their tenant, to subscribe and to publish — for
 * instance a command to one device on `commands/<deviceId>`. The MQTT password is
 * a one-minute ticket from the API, standing for this session (the page cannot read
 * the HttpOnly cookie and never asks for the password); signing out closes the
 * connection.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api/http.js';
import type { Device, Page as DevicePage } from '../api/types.js';
import { ErrorNote, Field, Page, Section, Submit, valueOf } from '../components/ui.js';
import { MqttClient } from '../mqtt/client.js';
import { payloadText, type Qos } from '../mqtt/packets.js';
import { formatTime } from '../lib/format.js';
import { can, useSession } from '../lib/session.js';
import { useAsync } from '../lib/use-async.js';

interface Received {
  n: number;
  at: number;
  topic: string;
  payload: string;
  retain: boolean;
}

const MAX_SHOWN = 200;

/** POST /api/me/mqtt-credentials: the username and a one-minute ticket as the password. */
interface MqttCredentials {
  username: string;
  password: string;
}

export const commandTopic = (deviceId: string): string => `commands/${deviceId}`;

export function ConsolePage() {
  const { me } = useSession();
  const [client, setClient] = useState<MqttClient>();
  const [error, setError] = useState<unknown>();
  const [connecting, setConnecting] = useState(false);
  useEffect(() => () => client?.end(), [client]);

  const connect = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setConnecting(true);
    try {
      const { username, password } = await api.post<MqttCredentials>('/api/me/mqtt-credentials');
      const c = await MqttClient.connect({
        clientId: `dashboard-${username}-${Math.random().toString(36).slice(2, 8)}`,
        username,
        password,
      });
      c.onClose = () => setClient(undefined);
      setClient(c);
    } catch (err) {
      setError(err);
    } finally {
      setConnecting(false);
    }
  };

  return (
    <Page
      title="MQTT console"
      actions={
        client && (
          <button type="button" onClick={() => client.end()}>
            Disconnect
          </button>
        )
      }
    >
      <p class="muted">
        Publish and subscribe inside {me.tenantId ? `tenant ${me.tenantId}` : 'the platform'} over MQTT on
        WebSocket, as {me.user.username}.
      </p>
      <ErrorNote error={error} />
      {!client ? (
        <Section title="Connect">
          <p class="muted">
            Connects as {me.user.username} with this session; signing out disconnects.
            {me.role === 'viewer' && ' Viewers may subscribe but not publish.'}
          </p>
          <form class="form-grid" onSubmit={(e) => void connect(e)}>
            <Submit label="Connect" disabled={connecting} />
          </form>
        </Section>
      ) : (
        <>
          <p class="note ok" role="status" data-testid="mqtt-status">
            Connected.
          </p>
          {can(me, 'operator') && <Publisher client={client} />}
          <Subscriber client={client} />
        </>
      )}
    </Page>
  );
}

function Publisher(props: { client: MqttClient }) {
  const devices = useAsync(() => api.get<DevicePage<Device>>('/api/devices?limit=1000'), []);
  const [deviceId, setDeviceId] = useState('');
  const [topic, setTopic] = useState('');
  const [payload, setPayload] = useState('{"command":"ping"}');
  const [qos, setQos] = useState<Qos>(1);
  const [retain, setRetain] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState<unknown>();

  const pick = (id: string) => {
    setDeviceId(id);
    if (id) setTopic(commandTopic(id));
  };
  const publish = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setResult('');
    try {
      await props.client.publish(topic, payload, { qos, retain });
      setResult(`Sent to ${topic}${qos === 1 ? ' (acknowledged)' : ''} at ${formatTime(Date.now())}.`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="Publish">
      <form class="form-grid" onSubmit={(e) => void publish(e)}>
        <Field label="Device" hint="Fills in the device's command topic.">
          <select value={deviceId} onChange={(e) => pick(valueOf(e))}>
            <option value="">choose…</option>
            {(devices.data?.items ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name || d.id}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Topic">
          <input required value={topic} onInput={(e) => setTopic(valueOf(e))} />
        </Field>
        <Field label="Payload" wide>
          <textarea rows={3} value={payload} onInput={(e) => setPayload(valueOf(e))} />
        </Field>
        <Field label="QoS">
          <select value={qos} onChange={(e) => setQos(Number(valueOf(e)) as Qos)}>
            <option value="0">0</option>
            <option value="1">1</option>
          </select>
        </Field>
        <label class="check">
          <input type="checkbox" checked={retain} onChange={(e) => setRetain(e.currentTarget.checked)} />{' '}
          Retain
        </label>
        <ErrorNote error={error ?? devices.error} />
        {result && (
          <p class="note ok" role="status" data-testid="publish-result">
            {result}
          </p>
        )}
        <Submit label="Publish" />
      </form>
    </Section>
  );
}

function Subscriber(props: { client: MqttClient }) {
  const [filter, setFilter] = useState('#');
  const [subscribed, setSubscribed] = useState<string[]>([]);
  const [messages, setMessages] = useState<Received[]>([]);
  const [error, setError] = useState<unknown>();
  const count = useRef(0);

  useEffect(() => {
    props.client.onMessage = (m) => {
      const received = {
        n: ++count.current,
        at: Date.now(),
        topic: m.topic,
        payload: payloadText(m.payload),
        retain: m.retain,
      };
      setMessages((old) => [received, ...old].slice(0, MAX_SHOWN));
    };
  }, [props.client]);

  const subscribe = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const granted = await props.client.subscribe(filter, 0);
      if (granted === 0x80) throw new Error(`the broker refused ${filter}`);
      setSubscribed([...new Set([...subscribed, filter])]);
    } catch (err) {
      setError(err);
    }
  };
  const unsubscribe = async (f: string) => {
    await props.client.unsubscribe(f).catch(setError);
    setSubscribed(subscribed.filter((s) => s !== f));
  };

  return (
    <Section title="Subscribe">
      <form class="form-grid" onSubmit={(e) => void subscribe(e)}>
        <Field label="Topic filter">
          <input required value={filter} onInput={(e) => setFilter(valueOf(e))} />
        </Field>
        <Submit label="Subscribe" />
      </form>
      <ErrorNote error={error} />
      {subscribed.length > 0 && (
        <ul class="chips" aria-label="Subscriptions">
          {subscribed.map((f) => (
            <li key={f}>
              <code>{f}</code>
              <button type="button" onClick={() => void unsubscribe(f)} aria-label={`Unsubscribe from ${f}`}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <ol class="messages" data-testid="mqtt-messages" aria-live="polite">
        {messages.map((m) => (
          <li key={m.n}>
            <span class="muted small">{formatTime(m.at)}</span> <code>{m.topic}</code>
            {m.retain && <span class="badge">retained</span>}
            <pre>{m.payload}</pre>
          </li>
        ))}
      </ol>
    </Section>
  );
}
