/**
 * The dashboard's other pages in real headless Chromium, with a few devices
 * streaming: the MQTT console (publish and subscribe over WebSocket, signed in
 * with the session, no password asked), a ThingSpeak channel managed with the
 * session cookie and charted per field, and screenshots of the main pages on a
 * desktop and at 360 px (saved under .test-artifacts/screenshots/).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import type { Actor } from '../src/registry/service.js';
import { createTenantAdmin, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import {
  browserSkipReason,
  chartRows,
  DESKTOP,
  launchBrowser,
  openNav,
  pageWidth,
  PHONE,
  saveScreenshot,
  signIn,
} from './helpers/browser.js';

const skip = browserSkipReason(); // throws under CI=true when Chromium or the built app is missing

const DEVICES = [
  { id: 'boiler-1', name: 'Boiler room', type: 'thermometer', base: 61 },
  { id: 'lobby-2', name: 'Lobby', type: 'thermometer', base: 21 },
  { id: 'roof-3', name: 'Roof station', type: 'weather', base: 12 },
  { id: 'meter-4', name: 'Main meter', type: 'meter', base: 230 },
];
const HISTORY_POINTS = 110;
const HISTORY_STEP_MS = 30_000;
const PUBLISH_EVERY_MS = 250;

describe('dashboard: console, channels and every page at two widths', { skip }, () => {
  let platform: TestPlatform;
  let browser: Browser;
  let page: Page;
  let admin: { actor: Actor; username: string; password: string };
  const clients: MqttClient[] = [];
  let streaming: ReturnType<typeof setInterval> | undefined;

  before(async () => {
    platform = await startTestPlatform();
    admin = await createTenantAdmin(platform, 'acme');
    const registry = platform.app.registry;
    const now = Date.now();
    for (const d of DEVICES) {
      await registry.createDevice(admin.actor, { id: d.id, name: d.name, type: d.type, tags: ['demo'] });
      const { secret } = await registry.issueCredential(admin.actor, d.id, { kind: 'token' });
      // The last hour as a slow wave, sent over HTTP with device timestamps, so the charts have a shape.
      const history = Array.from({ length: HISTORY_POINTS }, (_, i) => ({
        ts: now - (HISTORY_POINTS - i) * HISTORY_STEP_MS,
        values: { temperature: +(d.base + 4 * Math.sin(i / 9) + Math.random()).toFixed(2) },
      }));
      const res = await fetch(`${platform.httpUrl}/api/v1/telemetry`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(history),
      });
      assert.equal(res.status, 200, await res.text());
      clients.push(await mqtt.connectAsync(platform.mqttUrl, { username: secret, reconnectPeriod: 0 }));
    }
    let tick = 0;
    streaming = setInterval(() => {
      tick++;
      clients.forEach((c, i) => {
        const value = +(DEVICES[i].base + 4 * Math.sin((HISTORY_POINTS + tick / 4) / 9)).toFixed(2);
        c.publish('devices/me/telemetry', JSON.stringify({ temperature: value }));
      });
    }, PUBLISH_EVERY_MS);
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  });

  after(async () => {
    clearInterval(streaming);
    await Promise.all(clients.map((c) => c.endAsync()));
    await browser?.close();
    await platform?.stop();
  });

  it('publishes and subscribes in the MQTT console over WebSocket', async () => {
    await signIn(page, platform.httpUrl, admin.username, admin.password);
    await openNav(page, 'MQTT console');
    assert.equal(await page.locator('input[type="password"]').count(), 0, 'no password is asked for');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByTestId('mqtt-status').waitFor();

    await page.getByLabel('Topic filter').fill('sensors/#');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByRole('list', { name: 'Subscriptions' }).getByText('sensors/#').waitFor();
    await clients[0].publishAsync('sensors/boiler/pressure', '1.7 bar', { qos: 1 });
    await page.getByTestId('mqtt-messages').getByText('1.7 bar').waitFor({ timeout: 5000 });

    const device = clients[1];
    await device.subscribeAsync(`commands/${DEVICES[1].id}`, { qos: 1 });
    const received = new Promise<string>((resolve) =>
      device.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    await page.getByLabel('Device', { exact: true }).selectOption(DEVICES[1].id);
    assert.equal(await page.getByLabel('Topic', { exact: true }).inputValue(), `commands/${DEVICES[1].id}`);
    await page.getByLabel('Payload').fill('{"command":"reboot"}');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByTestId('publish-result').waitFor();
    assert.equal(await received, '{"command":"reboot"}');
  });

  it('creates a ThingSpeak channel and charts each field', async () => {
    await openNav(page, 'Channels');
    await page.getByRole('button', { name: 'New channel' }).click();
    await page.getByLabel('Channel name').fill('Greenhouse');
    await page.getByLabel('Field 1 name').fill('temperature');
    await page.getByLabel('Field 2 name').fill('humidity');
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByRole('heading', { level: 1, name: 'Greenhouse' }).waitFor();
    const writeKey = await page.getByTestId('write-key').innerText();
    assert.match(writeKey, /^[0-9A-Z]{16}$/);
    for (let i = 0; i < 5; i++) {
      // Entry times have whole seconds: give each its own minute, as a device sending every minute would.
      const createdAt = new Date(Date.now() - (5 - i) * 60_000).toISOString();
      const query = new URLSearchParams({
        api_key: writeKey,
        field1: `${20 + i}`,
        field2: `${50 - i}`,
        created_at: createdAt,
      });
      const res = await fetch(`${platform.httpUrl}/update?${query.toString()}`);
      assert.notEqual(await res.text(), '0', 'the update is accepted');
    }
    await page.reload();
    const charts = page.getByTestId('chart-data');
    await page.getByRole('region', { name: 'field2: humidity' }).waitFor();
    assert.equal(await charts.count(), 2, 'one chart per field');
    const humidity = await chartRows(page.getByRole('region', { name: 'field2: humidity' }));
    assert.deepEqual(
      humidity.map((row) => row.value),
      [50, 49, 48, 47, 46],
    );
    await openNav(page, 'Channels');
    await page.getByRole('link', { name: 'Greenhouse' }).waitFor();
    const tokens = await platform.app.registry.listApiTokens(admin.actor);
    assert.deepEqual(tokens, [], 'the channel pages use the session cookie, not an API token');
  });

  it('renders every main page on a desktop and at 360 px', async () => {
    const shots: Array<[string, () => Promise<void>]> = [
      [
        'overview',
        async () => {
          await openNav(page, 'Overview');
          await page.getByTestId('tile-mps').filter({ hasText: /\d/ }).waitFor({ timeout: 5000 });
        },
      ],
      [
        'devices',
        async () => {
          await openNav(page, 'Devices');
          await page
            .getByTestId('device-row-meter-4')
            .getByText(/^online$/)
            .waitFor();
        },
      ],
      [
        'device',
        async () => {
          await page.getByRole('link', { name: DEVICES[0].name }).click();
          await page
            .getByTestId('chart-status')
            .filter({ hasText: /buckets? of/ })
            .waitFor();
        },
      ],
      ['channels', () => openNav(page, 'Channels')],
      [
        'audit',
        async () => {
          await openNav(page, 'Audit log');
          await page.getByTestId('audit-table').locator('tbody tr').first().waitFor();
        },
      ],
      ['users', () => openNav(page, 'Users')],
      ['security', () => openNav(page, 'Security')],
    ];
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      const suffix = viewport === PHONE ? 'phone' : 'desktop';
      for (const [name, open] of shots) {
        await open();
        const width = await pageWidth(page);
        assert.ok(
          width.content <= width.viewport,
          `${name} fits ${width.viewport} px without scrolling sideways`,
        );
        await saveScreenshot(page, `${name}-${suffix}`);
      }
    }
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await saveScreenshot(page, `sign-in-${viewport === PHONE ? 'phone' : 'desktop'}`);
    }
  });
});
