// The portal's browser tests: a real Chromium (Debian's, driven by playwright-core) against a
// Berth that serves the built portal from web/dist. Every page a test opens records console
// errors, uncaught exceptions and 5xx answers; tests end with assertNoConsoleErrors().
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type Request } from 'playwright-core';
import { environmentLimit } from './tools.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Debian's Chromium (`apt-get install chromium`); playwright-core brings no browser of its own. */
export const chromiumPath = '/usr/bin/chromium';

/** Where screenshots go (test-output/ is ignored by git). */
export const screenshotDir = path.join(root, 'test-output', 'screenshots');

/**
 * Decides whether the browser tests can run: false when Chromium is installed (pass it as
 * node:test's `skip` option), or a message saying what to install. Under CI=true a missing
 * browser is a failure, registered in the calling file, as for the other tools.
 */
export function browserSkip(): false | string {
  if (existsSync(chromiumPath)) return false;
  return environmentLimit(`needs Chromium at ${chromiumPath} (apt-get install chromium)`);
}

function newestMtime(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

let portalChecked = false;

/**
 * Builds the portal (`node scripts/build.mjs`) when web/dist/index.html is missing or older
 * than any of its sources; once per process. A server reads web/dist when it starts, so call
 * this before startServer().
 */
export function ensurePortalBuilt(): void {
  if (portalChecked) return;
  const index = path.join(root, 'web', 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(path.join(root, 'web', 'src')),
    newestMtime(path.join(root, 'web', 'public')),
    newestMtime(path.join(root, 'web', 'index.html')),
    newestMtime(path.join(root, 'web', 'vite.config.ts')),
  );
  if (!existsSync(index) || statSync(index).mtimeMs < sources) {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (result.status !== 0) {
      throw new Error(`node scripts/build.mjs failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    }
    if (!existsSync(index)) throw new Error(`node scripts/build.mjs did not write ${index}`);
  }
  portalChecked = true;
}

/** Headless, and nothing in the background: this machine's network is closed beyond loopback. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium; check browserSkip() first (this throws when it is missing). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: chromiumArgs,
  });
}

export interface Viewport {
  /** Goes into screenshot names: "desktop-light", "phone-dark", … */
  name: string;
  width: number;
  height: number;
  colorScheme: 'light' | 'dark';
}

export const desktopLight: Viewport = { name: 'desktop-light', width: 1280, height: 800, colorScheme: 'light' };
export const desktopDark: Viewport = { name: 'desktop-dark', width: 1280, height: 800, colorScheme: 'dark' };
export const phoneLight: Viewport = { name: 'phone-light', width: 390, height: 844, colorScheme: 'light' };
export const phoneDark: Viewport = { name: 'phone-dark', width: 390, height: 844, colorScheme: 'dark' };

/** A failed request the page is expected to make: the exact API path and status. */
export interface ExpectedFailure {
  path: string;
  status: number;
}

/**
 * The portal asks /users/current to learn whether anyone is signed in; signed out, that is
 * a 401, which Chromium logs as "Failed to load resource". Only that one is expected.
 */
export const signedOutProbe: ExpectedFailure = { path: '/api/v2.0/users/current', status: 401 };

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  viewport: Viewport;
  /** Console errors, uncaught exceptions and 5xx answers seen so far, each in words. */
  problems: string[];
  /** Adds an expected failed request (a test that provokes a 4xx on purpose). */
  expectFailure(failure: ExpectedFailure): void;
  /** Fails listing every console error, page error and 5xx answer seen since the last call (or since the page opened). */
  assertNoConsoleErrors(): void;
  close(): Promise<void>;
}

const failedResource = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

/**
 * Opens a page in a fresh context of its own (viewport, colour scheme, clipboard access,
 * the server as base URL, optionally a signed-in session from storageState) and starts
 * recording what goes wrong in it.
 */
export async function openPage(
  browser: Browser,
  baseURL: string,
  viewport: Viewport = desktopLight,
  options: { storageState?: Awaited<ReturnType<BrowserContext['storageState']>>; expected?: ExpectedFailure[] } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: viewport.width, height: viewport.height },
    colorScheme: viewport.colorScheme,
    // The portal honours it (Mantine's respectReducedMotion): no transition is caught half-way by a screenshot or axe.
    reducedMotion: 'reduce',
    permissions: ['clipboard-read', 'clipboard-write'],
    storageState: options.storageState,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const expected = [signedOutProbe, ...(options.expected ?? [])];
  const isExpected = (url: string | undefined, status: number) => {
    if (!url) return false;
    let pathname: string;
    try {
      const parsed = new URL(url);
      if (parsed.origin !== new URL(baseURL).origin) return false;
      pathname = parsed.pathname;
    } catch {
      return false;
    }
    return expected.some((e) => e.path === pathname && e.status === status);
  };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const url = message.location().url;
    const failed = failedResource.exec(text);
    if (failed && isExpected(url, Number(failed[1]))) return;
    problems.push(`console error on ${page.url()}: ${text}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.stack ?? error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 500)
      problems.push(`${response.request().method()} ${response.url()} answered ${response.status()} (on ${page.url()})`);
  });
  // Requests in flight, for settle(): quicker than waiting for 'networkidle' (500 ms quiet).
  const inFlight = new Set<Request>();
  page.on('request', (request) => inFlight.add(request));
  page.on('requestfinished', (request) => inFlight.delete(request));
  page.on('requestfailed', (request) => inFlight.delete(request));
  requestsInFlight.set(page, inFlight);
  return {
    page,
    context,
    viewport,
    problems,
    expectFailure(failure) {
      expected.push(failure);
    },
    assertNoConsoleErrors() {
      // Reported once: the next check starts afresh.
      const seen = problems.splice(0);
      assert.deepEqual(seen, [], `the browser reported problems:\n${seen.join('\n')}`);
    },
    async close() {
      await context.close();
    },
  };
}

/** Signs in through the sign-in page and waits for the projects page. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await field(page, 'Username or email').fill(username);
  await field(page, 'Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/projects');
  await h1(page).waitFor();
}

/**
 * The input labelled exactly `label`: Mantine adds " *" to the label of a required field
 * (hidden from screen readers, but part of the label's text that getByLabel matches).
 */
export function field(scope: Page | Locator, label: string): Locator {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return scope.getByLabel(new RegExp(`^${escaped}\\s*\\*?$`));
}

/** The page's heading of level 1. */
export function h1(page: Page): Locator {
  return page.getByRole('heading', { level: 1 });
}

const requestsInFlight = new WeakMap<Page, Set<Request>>();

/**
 * Waits until the page is at rest: no request in flight for 150 ms, no loader or skeleton
 * showing, no transition running (a fading modal would confuse axe's contrast checks and
 * the screenshots). Gives up quietly after 10 s: the checks that follow say what is wrong.
 */
export async function settle(page: Page): Promise<void> {
  const deadline = Date.now() + 10_000;
  const inFlight = requestsInFlight.get(page);
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    if (inFlight && inFlight.size > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= 150) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!inFlight) await page.waitForLoadState('networkidle', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
  await page
    .waitForFunction(
      () => {
        // Only what is rendered: a tab panel that is not shown may hold a placeholder for data it has not asked for yet.
        const busy = [...document.querySelectorAll('.mantine-Loader-root, .mantine-Skeleton-root[data-visible], [aria-busy="true"]')].some(
          (el) => el.checkVisibility(),
        );
        const moving = document.getAnimations().some((a) => a.playState === 'running' && a.effect?.getTiming().iterations !== Infinity);
        return !busy && !moving;
      },
      undefined,
      { timeout: Math.max(1, deadline - Date.now()), polling: 50 },
    )
    .catch(() => undefined);
}

/** Saves a full-page screenshot to test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Runs axe (WCAG 2 A and AA rules) on the page; returns its violations in words, or null when there are none. */
export async function accessibilityViolations(page: Page, name: string): Promise<string | null> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  if (results.violations.length === 0) return null;
  const lines = results.violations.map(
    (v) =>
      `- ${v.id} (${v.impact ?? 'n/a'}): ${v.help}\n    ${v.nodes
        .map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`)
        .join('\n    ')}`,
  );
  return `axe found ${results.violations.length} violation(s) on ${name} (${page.url()}):\n${lines.join('\n')}`;
}

/** Runs axe (WCAG 2 A and AA rules) on the page and fails listing every violation (id, help, targets). */
export async function checkAccessibility(page: Page, name: string): Promise<void> {
  const violations = await accessibilityViolations(page, name);
  if (violations) assert.fail(violations);
}

/** Polls `check` until it stops throwing or `timeoutMs` passes; then throws its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/**
 * Screenshot, document title ("… · Berth") and axe of the page as it is now. With
 * `violations`, axe's findings are added to that list instead of failing here, so that a
 * story can go on and report them at its end.
 */
export async function inspectPage(page: Page, name: string, violations?: string[]): Promise<void> {
  // The pointer rests where the last click left it; away from the controls, no hover state
  // depends on the order of the steps.
  await page.mouse.move(0, 0);
  await settle(page);
  await screenshot(page, name);
  await eventually(async () => assert.match(await page.title(), / · Berth$/, `title of ${name}`));
  if (!violations) return checkAccessibility(page, name);
  const found = await accessibilityViolations(page, name);
  if (found) violations.push(found);
}
