import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { fromRoot } from '../../src/shared/paths';

/** Debian's Chromium (installed by .ci/run), driven by playwright-core: no browser download. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const artifactsDir = fromRoot('test-artifacts');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Width and height of a PNG file (from its IHDR chunk); throws when the file is missing or not a PNG. */
export function pngSize(file: string): { width: number; height: number } {
  const bytes = readFileSync(file);
  if (bytes.length < 24 || bytes.toString('latin1', 1, 4) !== 'PNG' || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${file} is not a PNG image`);
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** axe-core violations of impact serious or critical, as "rule: target" lines for a readable failure. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')}`));
}

/** Answers every open question on the page as a person would: the given text, the first option of each group. */
export async function answerSection(page: Page, text: string): Promise<void> {
  for (;;) {
    const form = page.locator('form[action*="/items/"]').first();
    if ((await form.count()) === 0) return;
    const textarea = form.locator('textarea');
    if ((await textarea.count()) > 0) await textarea.fill(text);
    const radios = form.locator('input[type="radio"], input[type="checkbox"]');
    const names = new Set<string>();
    for (let i = 0; i < (await radios.count()); i += 1) {
      const name = (await radios.nth(i).getAttribute('name')) ?? '';
      if (!names.has(name)) {
        names.add(name);
        await radios.nth(i).check();
      }
    }
    await Promise.all([page.waitForLoadState('load'), form.locator('button[type="submit"]').click()]);
  }
}

/**
 * Launches a persona of the first Canvas-shaped course through the built-in platform's iframe and returns the
 * tool's frame, once the tool's own header shows (the platform's "Launching the tool" page comes first).
 */
export async function launchInFrame(page: Page, toolUrl: string, persona: string, what = 'training'): Promise<Frame> {
  await page.goto(`${toolUrl}/dev/platform`);
  await page.selectOption('#dp-shape', 'canvas');
  await page.selectOption('#dp-persona', persona);
  await page.selectOption('#dp-what', what);
  await page.click('button[name="go"][value="launch"]');
  await page.frameLocator('iframe[name="tool"]').locator('.site-header .who').waitFor({ timeout: 60_000 });
  const frame = page.frame({ name: 'tool' });
  if (!frame) throw new Error('no tool frame');
  const heading = await frame.locator('h1').first().innerText();
  if (/Launching|session|refused|sign in/i.test(heading))
    throw new Error(`launch as ${persona} landed on "${heading}": ${(await frame.locator('main').innerText()).slice(0, 300)}`);
  return frame;
}
