// Small steps the portal tests share: starting a Berth for the portal and closing it, signed-in
// pages, choosing an option, following the navigation, modals (saved, dismissed, confirmed), a
// row's actions menu, Test connection, a task's log.
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  desktopLight,
  ensurePortalBuilt,
  eventually,
  openPage,
  signIn,
  type ExpectedFailure,
  type Viewport,
  type WatchedPage,
} from '../helpers/browser.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';

/** Starts a Berth for a portal suite, the portal built first. */
export async function startPortalServer(options?: Parameters<typeof startServer>[0]): Promise<TestServer> {
  ensurePortalBuilt();
  return startServer(options);
}

/** A portal suite's `after`: the page, the browser, then the Berth; what never opened is passed over. */
export async function closePortal({ watched, browser, server }: { watched?: WatchedPage; browser?: Browser; server?: TestServer }) {
  await watched?.close();
  await browser?.close();
  await server?.stop();
}

interface SignInOptions {
  /** The admin unless told. */
  username?: string;
  password?: string;
  expected?: ExpectedFailure[];
}

/** A page in a context of its own at `viewport`, signed in through the sign-in page. */
export async function openSignedIn(
  browser: Browser,
  server: TestServer,
  viewport: Viewport = desktopLight,
  options: SignInOptions = {},
): Promise<WatchedPage> {
  const watched = await openPage(browser, server.url, viewport, { expected: options.expected });
  try {
    await signIn(watched.page, options.username ?? 'admin', options.password ?? adminPassword);
  } catch (err) {
    await watched.close();
    throw err;
  }
  return watched;
}

/** Runs `check` in a signed-in page of its own at `viewport`, closed afterwards whatever happened. */
export async function inSignedInPage(
  browser: Browser,
  server: TestServer,
  viewport: Viewport,
  check: (watched: WatchedPage) => Promise<void>,
  options: SignInOptions = {},
): Promise<void> {
  const watched = await openSignedIn(browser, server, viewport, options);
  try {
    await check(watched);
  } finally {
    await watched.close();
  }
}

/** Fails when the page is wider than its viewport (`what` names it in the message). */
export async function assertNoOverflow(page: Page, what = 'the page'): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow} px wider than the phone`);
}

/** Opens the navigation (the burger on a phone) and follows its link named `name`. */
export async function navigate(page: Page, name: string): Promise<void> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  const link = nav.getByRole('link', { name, exact: true });
  if (!(await link.isVisible())) {
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await link.waitFor();
  }
  await link.click();
}

/** The dialog that opened last, once it is visible and done moving. */
export async function openDialog(page: Page): Promise<Locator> {
  const dialog = page.getByRole('dialog').last();
  await dialog.waitFor();
  await page
    .waitForFunction(
      () => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity),
      undefined,
      {
        timeout: 5_000,
        polling: 50,
      },
    )
    .catch(() => undefined);
  return dialog;
}

/** Chooses `option` in a select field, whether a native <select> or Mantine's combobox. */
export async function chooseOption(page: Page, field: Locator, option: string | RegExp): Promise<void> {
  const input = field.first();
  await input.waitFor();
  if ((await input.evaluate((el) => el.tagName)) === 'SELECT') {
    const options = await input.locator('option').allTextContents();
    const label = options.find((o) => (typeof option === 'string' ? o.trim() === option : option.test(o.trim())));
    if (label === undefined) throw new Error(`no option ${option} among ${JSON.stringify(options)}`);
    await input.selectOption({ label });
    return;
  }
  await input.click();
  await page
    .getByRole('option', { name: option, exact: typeof option === 'string' ? true : undefined })
    .first()
    .click();
}

/** The portal's byte format (web/src/lib/format.ts): 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Clicks `button` in `dialog` (Save unless told) and waits for the dialog to close. */
export async function submitDialog(dialog: Locator, button = 'Save'): Promise<void> {
  await dialog.getByRole('button', { name: button }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** Closes `dialog` with Escape and waits until it is gone. */
export async function dismissDialog(page: Page, dialog: Locator): Promise<void> {
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
}

/** Answers the confirmation that opened last with its `button` ("Delete", "Replicate"), and waits for it to close. */
export async function confirmWith(page: Page, button: string): Promise<void> {
  await submitDialog(await openDialog(page), button);
}

/** Opens `row`'s actions menu (the button named `menu`, "Actions for rule x") and chooses `item`. */
export async function rowAction(page: Page, row: Locator, menu: string | RegExp, item: string): Promise<void> {
  await row.getByRole('button', { name: menu }).click();
  await page.getByRole('menuitem', { name: item, exact: true }).click();
}

/** "Test connection" in `dialog`, then waits for its answer: that the connection works, or that it failed. */
export async function testConnection(dialog: Locator, answer: 'works' | 'failed', timeout?: number): Promise<void> {
  await dialog.getByRole('button', { name: 'Test connection' }).click();
  await dialog.getByText(answer === 'works' ? 'Connection works' : 'Connection failed').waitFor({ timeout });
}

/** Shows the log of `task` (a row of a tasks table in `dialog`) and waits until it is loaded and matches `pattern`. */
export async function readTaskLog(dialog: Locator, task: Locator, pattern: RegExp): Promise<void> {
  await task.getByRole('button', { name: /^Show the log of task/ }).click();
  const log = dialog.getByLabel(/^Log of task \d+$/);
  await eventually(async () => {
    const text = (await log.textContent()) ?? '';
    assert.notEqual(text, 'Loading…');
    assert.match(text, pattern);
  });
}
