/**
 * The dashboard in real headless Chromium against a whole platform in this
 * process: sign in, a device coming online, live values within the latency
 * bound, a chart checked against the aggregate API, credentials, sign out.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';
import {
  browserSkipReason,
  chartRows,
  dataOf,
  DESKTOP,
  launchBrowser,
  median,
  PHONE,
  saveScreenshot,
  signIn,
  signOut,
  watchText,
} from './helpers/browser.js';

const skip = browserSkipReason(); // throws under CI=true when Chromium or the built app is missing

/** The bound: a value published by a device is on screen this soon. */
const LATENCY_BOUND_MS = 250;
const LATENCY_SAMPLES = 15;
/** Readings of the last minutes, sent before the chart is drawn. */
const EARLIER_POINTS = 12;

describe('dashboard: live devices, charts and credentials', { skip }, () => {
  let platform: TestPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: { username: string; password: string };
  let deviceToken: string;
  let device: MqttClient | undefined;
  const tenantId = 'acme';
  const deviceId = 'therm-1';

  before(async () => {
    platform = await startTestPlatform();
    const tenantAdmin = await createTenantAdmin(platform, tenantId);
    admin = tenantAdmin;
    deviceToken = (await createTokenDevice(platform, tenantAdmin.actor, { id: deviceId })).token;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
  });

  after(async () => {
    await device?.endAsync();
    await browser?.close();
    await platform?.stop();
  });

  const connectDevice = (username: string) =>
    mqtt.connectAsync(platform.mqttUrl, { username, protocolVersion: 4, reconnectPeriod: 0 });

  it('signs in with username and password', async () => {
    await signIn(page, platform.httpUrl, admin.username, admin.password);
    assert.match(
      await page.getByTestId('whoami').innerText(),
      new RegExp(`${admin.username} · admin · ${tenantId}`),
    );
    await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor({ timeout: 5000 });
  });

  it('shows a device come online on the devices page when it connects', async () => {
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    const row = page.getByTestId(`device-row-${deviceId}`);
    await row
      .getByTestId('online-badge')
      .filter({ hasText: /^offline$/ })
      .waitFor();
    device = await connectDevice(deviceToken);
    await row
      .getByTestId('online-badge')
      .filter({ hasText: /^online$/ })
      .waitFor({ timeout: 5000 });
    await device.publishAsync('devices/me/telemetry', JSON.stringify({ temperature: 20, door: 'closed' }), {
      qos: 1,
    });
    await saveScreenshot(page, 'live-devices-desktop');
  });

  it(`shows a published value on the device page within ${LATENCY_BOUND_MS} ms`, async () => {
    await page.getByTestId(`device-row-${deviceId}`).getByRole('link').click();
    await page.getByTestId('latest-temperature').filter({ hasText: '20' }).waitFor();
    const latencies: number[] = [];
    for (let i = 1; i <= LATENCY_SAMPLES; i++) {
      const value = 20 + i / 4;
      const { shown } = await watchText(page, 'latest-temperature', String(value));
      const published = Date.now();
      await device!.publishAsync('devices/me/telemetry', JSON.stringify({ temperature: value }), { qos: 1 });
      latencies.push((await shown) - published);
    }
    const mid = median(latencies);
    console.log(
      `value-to-screen latency over ${LATENCY_SAMPLES} publishes: median ${mid} ms, ` +
        `min ${Math.min(...latencies)} ms, max ${Math.max(...latencies)} ms`,
    );
    assert.ok(mid < LATENCY_BOUND_MS, `median latency ${mid} ms (samples ${latencies.join(', ')})`);
    const over = latencies.filter((l) => l >= LATENCY_BOUND_MS);
    assert.ok(over.length <= 1, `more than one sample over ${LATENCY_BOUND_MS} ms: ${latencies.join(', ')}`);
  });

  it('charts a key over a range with the aggregate API’s buckets, and zooms and pans', async () => {
    // Earlier readings, one a minute, sent over HTTP with their own times: the chart spans many buckets.
    const now = Date.now();
    const earlier = Array.from({ length: EARLIER_POINTS }, (_, i) => ({
      ts: now - (EARLIER_POINTS - i) * 60_000,
      values: { temperature: 15 + (i % 4) },
    }));
    const ingest = await fetch(`${platform.httpUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(earlier),
    });
    assert.equal(ingest.status, 200);
    await page.getByLabel('Key', { exact: true }).selectOption('temperature');
    await page.getByRole('button', { name: '15 min' }).click();
    await page
      .getByTestId('chart-status')
      .filter({ hasText: /buckets? of/ })
      .waitFor();
    const params = await dataOf(page, 'device-chart');
    assert.equal(params.key, 'temperature');
    assert.equal(params.bucket, '5000', '15 minutes are charted in 5-second buckets');
    const rows = await chartRows(page);
    const answer = await page.evaluate(async (p) => {
      const q = new URLSearchParams({ keys: p.key!, from: p.from!, to: p.to!, bucket: p.bucket!, fn: p.fn! });
      const res = await fetch(`/api/devices/therm-1/telemetry/aggregate?${q.toString()}`);
      return (await res.json()) as { buckets: Array<{ ts: number; value: number | null; count: number }> };
    }, params);
    assert.ok(rows.length > EARLIER_POINTS, `the chart has ${rows.length} points`);
    assert.deepEqual(
      rows,
      answer.buckets.map((b) => ({ ts: b.ts, value: b.value })),
    );
    const counted = answer.buckets.reduce((n, b) => n + b.count, 0);
    assert.equal(counted, EARLIER_POINTS + LATENCY_SAMPLES + 1, 'every temperature sent is in a bucket');

    // Zoom: drag across the middle of the plot; the window narrows and finer buckets are fetched.
    const over = page.locator('.u-over');
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor();
    const zoomed = await dataOf(page, 'device-chart');
    const span = (d: Record<string, string | undefined>) => Number(d.to) - Number(d.from);
    assert.ok(span(zoomed) < span(params) * 0.5, `zoomed window ${span(zoomed)} ms of ${span(params)} ms`);
    assert.ok(Number(zoomed.bucket) <= Number(params.bucket));

    // Pan: one step back in time moves the window by half its width.
    await page.getByRole('button', { name: 'Pan back in time' }).click();
    const panned = await dataOf(page, 'device-chart');
    assert.equal(Number(zoomed.from) - Number(panned.from), Math.round(span(zoomed) / 2));
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page
      .getByTestId('chart-status')
      .filter({ hasText: /buckets? of 5 s/ })
      .waitFor();
    await saveScreenshot(page, 'live-device-desktop');
    await page.setViewportSize(PHONE);
    await saveScreenshot(page, 'live-device-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('issues a token credential shown once, which logs in, and revokes it', async () => {
    await page.getByLabel('Kind of credential').selectOption('token');
    await page.getByRole('button', { name: 'Issue credential' }).click();
    const secret = await page.getByTestId('credential-secret').innerText();
    assert.match(secret, /^hd_/);
    const second = await connectDevice(secret);
    await second.endAsync();

    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByTestId('credential-secret').count(), 0, 'the secret is gone once dismissed');
    const rows = page.getByTestId('credentials').locator('tbody tr');
    assert.equal(await rows.count(), 2);
    page.once('dialog', (dialog) => void dialog.accept());
    await rows
      .nth(1)
      .getByRole('button', { name: /^Revoke/ })
      .click();
    await rows
      .nth(1)
      .getByTestId('credential-state')
      .filter({ hasText: /^revoked/ })
      .waitFor();
    await assert.rejects(
      connectDevice(secret),
      /Not authorized|Bad username or password|Connection refused/i,
    );
    await page.getByTestId('device-audit').getByText('credential.revoke').first().waitFor();
  });

  it('issues a client certificate and downloads its bundle', async () => {
    await page.getByLabel('Kind of credential').selectOption('certificate');
    await page.getByRole('button', { name: 'Issue credential' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download bundle' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${deviceId}-bundle.pem`);
    const bundle = await readFile(await download.path());
    const pem = bundle.toString('utf8');
    assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
    assert.equal(pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2, 'the device certificate and the CA');
    await page.getByRole('button', { name: 'Done' }).click();
  });

  it('deactivates and activates the device', async () => {
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByTestId('active-badge').filter({ hasText: 'deactivated' }).waitFor();
    await page
      .getByTestId('online-badge')
      .filter({ hasText: /^offline$/ })
      .waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: 'Activate' }).click();
    await page
      .getByTestId('active-badge')
      .filter({ hasText: /^active$/ })
      .waitFor();
  });

  it('signs out: the session is gone', async () => {
    await signOut(page);
    const status = await page.evaluate(async () => (await fetch('/api/me')).status);
    assert.equal(status, 401);
  });
});
