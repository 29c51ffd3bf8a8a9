// Small steps the portal tests share: choosing an option, following the navigation, modals.
import type { Locator, Page } from 'playwright-core';

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
