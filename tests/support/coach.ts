import type { Browser } from './browser';
import { findLink, parseForms, type PageResponse } from './browser';

/**
 * A hurried coach: submits every form with its first option and some text, follows "start / next /
 * continue / finish" — no JavaScript. Returns every page seen, the last being the result.
 */
export async function hurry(browser: Browser, landing: PageResponse, maxSteps = 200): Promise<PageResponse[]> {
  const seen: PageResponse[] = [landing];
  let page = landing;
  for (let step = 0; step < maxSteps && !new URL(page.url).pathname.endsWith('/result'); step += 1) {
    if (page.status !== 200) throw new Error(`HTTP ${page.status} at ${page.url}`);
    const forms = parseForms(page.text, page.url);
    const item = forms.find((f) => f.action.includes('/items/'));
    const action = item ?? forms.find((f) => /\/attempts$|\/complete$/.test(f.action));
    if (action) {
      const extra: Record<string, string> = {};
      for (const [name, values] of Object.entries(action.choices)) extra[name] = values[0]!;
      for (const name of action.textareas) extra[name] = 'I would start by asking what the learner wants from our time together.';
      page = await browser.follow(await browser.post(action.action, { ...action.fields, ...extra }));
    } else {
      const next = findLink(page, /^(Next section|Continue where you left off|Start)/);
      if (!next) throw new Error(`stuck at ${page.url}`);
      page = await browser.get(next);
    }
    seen.push(page);
  }
  return seen;
}
