/**
 * npm run docs:screenshots — copies a chosen few screenshots of the tour (tests/browser/tour.browser.test.ts,
 * written to test-artifacts/tour/) into src/web/public/guide/, where the README links them and the tool serves
 * them under /static/guide/. Each must be a PNG under 200 KB: a tall page is cut to its first 1,100 px, and one
 * still too large is scaled down in Chromium (drawn smaller, captured again as PNG) until it fits. Run the tour first:
 *   npx jest tests/browser/tour.browser.test.ts && npm run docs:screenshots
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../../src/shared/paths';
import { launchChromium, pngSize } from '../support/chromium';

/** The guide's pictures (≤ 10): tour file name → what the README shows. */
export const guideScreenshots = [
  'faculty-overview',
  'faculty-assign-modules',
  'faculty-rate',
  'faculty-observe',
  'faculty-coach',
  'coach-training',
  'coach-section',
  'coach-profile',
  'tool-admin-home',
  'it-home',
] as const;

const maxBytes = 200 * 1024;
const maxHeight = 1100;
const tourDir = fromRoot('test-artifacts', 'tour');
const guideDir = fromRoot('src', 'web', 'public', 'guide');

async function main(): Promise<number> {
  const missing = guideScreenshots.filter((name) => !existsSync(path.join(tourDir, `${name}.png`)));
  if (missing.length > 0) {
    process.stderr.write(`missing in ${tourDir}: ${missing.join(', ')}\nrun the tour first: npx jest tests/browser/tour.browser.test.ts\n`);
    return 1;
  }
  mkdirSync(guideDir, { recursive: true });
  // Pictures no longer chosen are removed, so the folder holds exactly the guide's set.
  for (const old of readdirSync(guideDir))
    if (old.endsWith('.png') && !guideScreenshots.some((n) => `${n}.png` === old)) unlinkSync(path.join(guideDir, old));
  const chromium = await launchChromium();
  try {
    for (const name of guideScreenshots) {
      const source = path.join(tourDir, `${name}.png`);
      const target = path.join(guideDir, `${name}.png`);
      const { width, height } = pngSize(source);
      copyFileSync(source, target);
      // A tall page is cut to its first screen (the whole page scaled to fit 200 KB would be unreadable), then
      // scaled down until the file fits.
      const shown = Math.min(height, maxHeight);
      for (let scale = shown < height ? 1 : 0.85; shown < height || statSync(target).size > maxBytes; scale *= 0.85) {
        if (scale < 0.2) throw new Error(`${name}: still over 200 KB at 20 % of its size`);
        const w = Math.round(width * scale);
        const h = Math.round(shown * scale);
        const page = await chromium.newPage({ viewport: { width: w, height: h } });
        const data = readFileSync(source).toString('base64');
        await page.setContent(
          `<style>html,body{margin:0}</style><img alt="" style="display:block;width:${w}px" src="data:image/png;base64,${data}">`,
        );
        await page.waitForFunction('document.images[0] && document.images[0].complete');
        await page.screenshot({ path: target, clip: { x: 0, y: 0, width: w, height: h } });
        await page.close();
        if (statSync(target).size <= maxBytes) break;
      }
      const size = pngSize(target);
      process.stdout.write(`${name}.png ${size.width}×${size.height} ${(statSync(target).size / 1024).toFixed(0)} KB\n`);
    }
  } finally {
    await chromium.close();
  }
  return 0;
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
