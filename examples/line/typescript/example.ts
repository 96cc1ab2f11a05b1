/**
 * Publishes one temperature every 10 s as a line-protocol device and prints
 * what arrives in its inbox:
 *
 *   LINE_HOST=localhost LINE_PORT=7000 DEVICE=sensor-1 HMAC_SECRET=<hex> node example.js
 */
import { LineClient } from './line-client.js';

const client = await LineClient.connect({
  host: process.env.LINE_HOST ?? 'localhost',
  port: Number(process.env.LINE_PORT ?? 7000),
});
await client.authHmac(process.env.DEVICE ?? 'sensor-1', process.env.HMAC_SECRET ?? '');
client.on('message', (topic, payload) => console.log(`${topic}: ${payload.toString()}`));
client.on('close', () => process.exit(1));
for (;;) {
  const temperature = 20 + Math.random() * 5;
  await client.pub('devices/me/telemetry', JSON.stringify({ temperature }));
  await new Promise((resolve) => setTimeout(resolve, 10_000));
}
