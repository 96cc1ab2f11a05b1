import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/**
 * The dashboard's browser tests drive Debian's Chromium with playwright-core;
 * no browser is ever downloaded (scripts/install-test-deps.sh installs it).
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The repository root (this file runs as dist/test/helpers/browser.js). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where the built dashboard is: the platform serves it from here. */
export const WEB_INDEX = join(REPO_ROOT, 'dist', 'web', 'index.html');
/** Screenshots of the tests, kept as artifacts (git-ignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, '.test-artifacts', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

/**
 * Why the browser tests cannot run here, or undefined when they can: pass it as
 * `describe(…, { skip })`. Under CI=true a missing Chromium or an unbuilt
 * dashboard throws instead, so CI fails rather than passing without them.
 */
export function browserSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!existsSync(CHROMIUM_PATH)) {
    reason = `no Chromium at ${CHROMIUM_PATH} (scripts/install-test-deps.sh installs it)`;
  } else if (!existsSync(WEB_INDEX)) {
    reason = `the dashboard is not built (${WEB_INDEX} missing; npm run build)`;
  }
  if (reason !== undefined && process.env.CI === 'true') {
    throw new Error(`${reason} (CI=true: the dashboard tests must run)`);
  }
  return reason;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A full-page screenshot under .test-artifacts/screenshots/<name>.png; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Signs in through the form and waits for the app's navigation. */
export async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Signs out through the button (behind the menu on a narrow screen) and waits for the sign-in form. */
export async function signOut(page: Page): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
}

/** Follows an in-app link of the main navigation. */
export async function openNav(page: Page, label: string): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: label, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

// The functions below run inside the page; this program has no DOM lib, so the few
// browser globals they touch are declared here, for this module only.
interface PageNode {
  textContent: string | null;
  tagName: string;
  getAttribute(name: string): string | null;
  dataset: Record<string, string | undefined>;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
}
declare const document: {
  querySelector(selector: string): PageNode | null;
  body: unknown;
  activeElement: PageNode | null;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare function getComputedStyle(element: PageNode): { outlineStyle: string; outlineWidth: string };
declare const MutationObserver: new (callback: () => void) => {
  observe(target: unknown, options: Record<string, boolean>): void;
  disconnect(): void;
};
declare function requestAnimationFrame(callback: () => void): number;

/**
 * Starts watching the element with `testid` inside the page; `shown` resolves with the
 * wall-clock time (ms) of the first frame painted after it reads `text`. Once this
 * function returns, the watch is in place: cause the change, then await `shown`.
 */
export async function watchText(
  page: Page,
  testid: string,
  text: string,
  timeoutMs = 5000,
): Promise<{ shown: Promise<number> }> {
  const shown = page.evaluate(
    ({ testid, text, timeoutMs }) =>
      new Promise<number>((resolve, reject) => {
        const element = () => document.querySelector(`[data-testid="${testid}"]`);
        const observer = new MutationObserver(() => {
          if (element()?.textContent !== text) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(Date.now()));
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        setTimeout(
          () => reject(new Error(`"${text}" not shown in ${testid} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    { testid, text, timeoutMs },
  );
  // evaluate() calls run in order: once this one answers, the observer above is installed.
  await page.evaluate(() => undefined);
  return { shown };
}

/** The `data-*` attributes of the element with `testid`. */
export function dataOf(page: Page, testid: string): Promise<Record<string, string | undefined>> {
  return page.getByTestId(testid).evaluate((el: PageNode) => ({ ...el.dataset }));
}

/** The chart's data table (of the page, or of one part of it): one row per point, null for a gap. */
export function chartRows(scope: Page | Locator): Promise<Array<{ ts: number; value: number | null }>> {
  return scope.getByTestId('chart-data').evaluate((table: PageNode) =>
    Array.from(table.querySelectorAll('tbody tr'), (tr) => {
      const cell = tr.querySelectorAll('td')[1].dataset.value ?? '';
      return { ts: Number(tr.dataset.ts), value: cell === '' ? null : Number(cell) };
    }),
  );
}

/** The accessible names of the page's buttons: aria-label, else their text. */
export function buttonNames(page: Page): Promise<string[]> {
  return page
    .getByRole('button')
    .evaluateAll((buttons: PageNode[]) =>
      buttons.map((b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim()),
    );
}

/** What has the keyboard focus: its tag, its text (or aria-label) and whether a focus outline is drawn. */
export function focused(page: Page): Promise<{ tag: string; text: string; outlined: boolean }> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return { tag: '', text: '', outlined: false };
    const style = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      text: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim(),
      outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    };
  });
}

/** Presses Tab until the element named `text` has the focus (at most `max` times); returns the presses. */
export async function tabTo(page: Page, text: string, max = 40): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now.text === text) {
      if (!now.outlined) throw new Error(`"${text}" has the focus but no visible focus outline`);
      return presses;
    }
  }
  throw new Error(`"${text}" not reached with ${max} presses of Tab`);
}

/** Form controls in the page's accessibility tree (Chromium's own) that have no accessible name. */
export async function unlabelledControls(page: Page): Promise<{ checked: number; unlabelled: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const controls = nodes.filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)));
    const unlabelled = controls
      .filter((n) => String(n.name?.value ?? '').trim() === '')
      .map((n) => `${String(n.role?.value)} #${n.backendDOMNodeId}`);
    return { checked: controls.length, unlabelled };
  } finally {
    await cdp.detach();
  }
}

const CONTROL_ROLES = new Set([
  'textbox',
  'searchbox',
  'combobox',
  'spinbutton',
  'checkbox',
  'radio',
  'slider',
  'switch',
  'listbox',
]);

/** How wide the page's content is against the viewport: wider means sideways scrolling. */
export function pageWidth(page: Page): Promise<{ content: number; viewport: number }> {
  return page.evaluate(() => ({
    content: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }));
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
