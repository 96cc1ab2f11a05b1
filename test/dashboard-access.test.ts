/**
 * The dashboard's access rules and accessibility in real headless Chromium:
 * keyboard-only sign-in and navigation with a visible focus, every form control
 * named in the accessibility tree, a viewer without write buttons (and the API
 * refusing the write anyway), TOTP enrolment and sign-in with a code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { SYSTEM_ACTOR } from '../src/registry/service.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';
import {
  browserSkipReason,
  buttonNames,
  DESKTOP,
  focused,
  launchBrowser,
  openNav,
  signIn,
  signOut,
  tabTo,
  unlabelledControls,
} from './helpers/browser.js';

const skip = browserSkipReason(); // throws under CI=true when Chromium or the built app is missing

const READ_ONLY_BUTTONS = new Set([
  'Menu',
  'Sign out',
  '15 min',
  '1 h',
  '24 h',
  '7 d',
  '30 d',
  '1 y',
  'Refresh',
  'Pan back in time',
  'Pan forward in time',
]);

describe('dashboard: keyboard, labels, roles and TOTP', { skip }, () => {
  let platform: TestPlatform;
  let browser: Browser;
  let admin: { username: string; password: string };
  const tenantId = 'acme';
  const deviceId = 'pump-7';
  const viewer = { username: 'vera', password: 'viewer-password-1' };
  const operator = { username: 'otto', password: 'operator-password-1' };

  before(async () => {
    platform = await startTestPlatform();
    const tenantAdmin = await createTenantAdmin(platform, tenantId);
    admin = tenantAdmin;
    await createTokenDevice(platform, tenantAdmin.actor, { id: deviceId });
    const registry = platform.app.registry;
    await registry.createUser(SYSTEM_ACTOR, { ...viewer, role: 'viewer', tenantId });
    await registry.createUser(SYSTEM_ACTOR, { ...operator, role: 'operator', tenantId });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
  });

  const freshPage = async (): Promise<Page> => (await browser.newContext({ viewport: DESKTOP })).newPage();

  it('signs in and opens a device with the keyboard alone, the focus always visible', async () => {
    const page = await freshPage();
    await page.goto(`${platform.httpUrl}/`);
    await page.getByLabel('Username').waitFor();
    assert.equal((await focused(page)).tag, 'input', 'the username field has the focus on arrival');
    await page.keyboard.type(admin.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(admin.password);
    await page.keyboard.press('Tab');
    assert.deepEqual(await focused(page), { tag: 'button', text: 'Sign in', outlined: true });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

    await tabTo(page, 'Devices');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    await tabTo(page, deviceId);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: deviceId }).waitFor();
    assert.equal((await focused(page)).tag, 'h1', 'the new page’s heading takes the focus');
    await page.context().close();
  });

  it('names every form control in the accessibility tree, page by page', async () => {
    const page = await freshPage();
    await page.goto(`${platform.httpUrl}/`);
    await page.getByLabel('Username').waitFor();
    const pages: Array<[string, () => Promise<void>]> = [
      ['Sign in', async () => signIn(page, platform.httpUrl, admin.username, admin.password)],
      ['Devices', () => openNav(page, 'Devices')],
      [
        'Device',
        async () => {
          await page.getByRole('link', { name: deviceId }).click();
          await page.getByRole('heading', { level: 1, name: deviceId }).waitFor();
        },
      ],
      ['Channels', () => openNav(page, 'Channels')],
      ['Audit log', () => openNav(page, 'Audit log')],
      ['MQTT console', () => openNav(page, 'MQTT console')],
      ['Users', () => openNav(page, 'Users')],
      ['Security', () => openNav(page, 'Security')],
    ];
    let checked = 0;
    for (const [name, open] of pages) {
      if (name !== 'Sign in') await open();
      const result = await unlabelledControls(page);
      assert.deepEqual(result.unlabelled, [], `unlabelled controls on ${name}`);
      checked += result.checked;
      if (name === 'Sign in') await open();
    }
    assert.ok(checked >= 20, `${checked} controls checked`);
    await page.context().close();
  });

  it('shows a viewer no write buttons, and the API refuses the write anyway', async () => {
    const page = await freshPage();
    await signIn(page, platform.httpUrl, viewer.username, viewer.password);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Tenants' }).count(), 0);

    await openNav(page, 'Devices');
    await page.getByTestId(`device-row-${deviceId}`).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add device' }).count(), 0);
    await page.getByRole('link', { name: deviceId }).click();
    await page.getByTestId('credentials').waitFor();
    await page.getByText('No telemetry yet.', { exact: true }).waitFor();
    const names = await buttonNames(page);
    assert.deepEqual(
      names.filter((n) => !READ_ONLY_BUTTONS.has(n)),
      [],
      `the viewer sees only read-only buttons, got ${names.join(', ')}`,
    );
    assert.equal(await page.getByLabel('Kind of credential').count(), 0);

    await openNav(page, 'Channels');
    assert.equal(await page.getByRole('button', { name: 'New channel' }).count(), 0);

    const refused = await page.evaluate(async (id) => {
      const res = await fetch(`/api/devices/${id}/deactivate`, {
        method: 'POST',
        headers: { 'x-halyard-csrf': '1' },
      });
      return { status: res.status, body: (await res.json()) as { error: string } };
    }, deviceId);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'NOT_AUTHORIZED');
    assert.equal((await platform.app.registry.getDevice(SYSTEM_ACTOR, deviceId)).active, true);
    await page.context().close();
  });

  it('enrols TOTP with the QR code and then asks for a code at sign-in', async () => {
    const page = await freshPage();
    await signIn(page, platform.httpUrl, operator.username, operator.password);
    await openNav(page, 'Security');
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    await page.getByTestId('totp-qr').waitFor();
    const qrLoaded = await page
      .getByTestId('totp-qr')
      .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    assert.ok(qrLoaded > 0, 'the QR code image renders');
    const secret = Secret.fromBase32(await page.getByTestId('totp-secret').innerText());
    const totp = new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 });
    await page.getByLabel('Code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByTestId('totp-state').filter({ hasText: /^On/ }).waitFor();

    await signOut(page);
    await page.getByLabel('Username').fill(operator.username);
    await page.getByLabel('Password').fill(operator.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const code = page.getByLabel('Authentication code');
    await code.waitFor();
    assert.equal((await focused(page)).tag, 'input', 'the code field takes the focus');
    // The enrolment spent this step's code; a code is accepted once, so use the next step's (within the window).
    await code.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.context().close();
  });
});
