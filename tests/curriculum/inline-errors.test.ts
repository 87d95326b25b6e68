import { formOf } from '../../src/curriculum/presentation';
import { Browser, decodeHtml, parseForms, withoutLaunchTokens, type HtmlForm, type PageResponse } from '../support/browser';
import { hurry } from '../support/coach';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

/** The part of a page that belongs to one question (its <section id="item-…">). */
function itemHtml(html: string, anchor: string): string {
  const start = html.indexOf(`<section class="item" id="${anchor}"`);
  if (start < 0) return '';
  return html.slice(start, html.indexOf('</section>', start));
}

describe('coach and faculty forms answer refusals inline, keeping what was typed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Starts a module and returns every section page of the attempt, in order. */
  async function sections(browser: Browser, landing: PageResponse): Promise<PageResponse[]> {
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    const first = await browser.follow(await browser.post(start.action, start.fields));
    const base = first.url.replace(/\/sections\/\d+.*$/, '/sections');
    const count = Number(/Section \d+ of (\d+)/.exec(first.text)?.[1]);
    const pages: PageResponse[] = [];
    for (let n = 1; n <= count; n += 1) pages.push(await browser.get(`${base}/${n}`));
    return pages;
  }

  function formWith(pages: PageResponse[], test: (f: HtmlForm) => boolean): { page: PageResponse; form: HtmlForm } {
    for (const page of pages) {
      const form = parseForms(page.text, page.url).find((f) => f.action.includes('/items/') && test(f));
      if (form) return { page, form };
    }
    throw new Error('no such form');
  }

  test('when a question is submitted with nothing chosen, then the same page answers 400 with a linked error summary, the header keeps the name, and nothing is stored', async () => {
    const browser = new Browser();
    const who = seedIds('canvas', 'coach2');
    const landing = await launch(server, browser, launchInput('canvas', 'coach2', { custom: { module_id: 'M02' } }));
    const { form } = formWith(await sections(browser, landing), (f) => f.textareas.length === 0);
    const res = await browser.post(form.action, form.fields);
    expect(res.status).toBe(400);
    const html = decodeHtml(res.text);
    expect(html).not.toContain('The request could not be used');
    expect(html).toContain('<h1 id="section-title">');
    expect(html).toMatch(/<div class="error-summary" role="alert"[^>]*>[\s\S]*Choose an answer before submitting\./);
    const anchor = /items\/(M\d{2}\.Q\d+)/.exec(form.action)![1]!.replace('.', '-');
    const firstOption = `item-${anchor}-${form.choices.selected![0]}`;
    expect(html).toContain(`href="#${firstOption}"`);
    expect(itemHtml(html, `item-${anchor}`)).toMatch(/<fieldset aria-invalid="true" aria-describedby="item-[^"]+-error"/);
    expect(html).toContain(who.name);
    const attempt = (await server.connection.db!.collection('attempts').findOne({ moduleId: 'M02' }))!;
    expect(attempt.answers).toEqual([]);
  });

  test('when a reflection is whitespace only, lacks a rating or is over 5,000 characters, then it is refused inline with the text and rating kept, and nothing is stored', async () => {
    const browser = new Browser();
    const who = seedIds('moodle', 'coach');
    const landing = await launch(server, browser, launchInput('moodle', 'coach', { custom: { module_id: 'M05' } }));
    const { form } = formWith(await sections(browser, landing), (f) => f.textareas.length > 0);
    const blank = await browser.post(form.action, { ...form.fields, text: '   \n  ', selfLevel: 'developing' });
    expect(blank.status).toBe(400);
    expect(blank.text).toMatch(/role="alert"[\s\S]*Write your reflection before submitting\./);
    expect(blank.text).toMatch(/<input type="radio" name="selfLevel" value="developing" id="[^"]+" checked/);
    expect(blank.text).toContain(who.name);

    const unrated = await browser.post(form.action, { ...form.fields, text: 'I would ask the learner <what> matters.' });
    expect(unrated.status).toBe(400);
    expect(unrated.text).toContain('Choose the rubric level that best fits your reflection.');
    expect(unrated.text).toMatch(/>I would ask the learner &lt;what&gt; matters\.<\/textarea>/);

    const long = `${'Listening first. '.repeat(294)}abc`; // 5,001 characters
    expect(long).toHaveLength(5001);
    const tooLong = await browser.post(form.action, { ...form.fields, text: long, selfLevel: 'expert' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('Your reflection is 5,001 characters; the limit is 5,000. Shorten it by 1 character.');
    expect(tooLong.text).toContain(`>${long}</textarea>`);
    expect(tooLong.text).toMatch(/<textarea [^>]*aria-invalid="true"/);
    expect(tooLong.text).not.toMatch(/<textarea [^>]*maxlength/);
    expect(tooLong.text).toContain('Up to 5,000 characters.');

    const attempt = (await server.connection.db!.collection('attempts').findOne({ moduleId: 'M05' }))!;
    expect(attempt.answers).toEqual([]);

    // Line breaks count as one character each, as the counter in the browser counts them.
    const lines = `${'a'.repeat(2499)}\r\n${'b'.repeat(2500)}`;
    const accepted = await browser.post(form.action, { ...form.fields, text: lines, selfLevel: 'expert' });
    expect(accepted.status).toBe(303);
  });

  test('when the last section is reached with questions open, then it links each unanswered question', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('canvas', 'coach', { custom: { module_id: 'M07' } }, 1));
    const pages = await sections(browser, landing);
    const last = pages[pages.length - 1]!;
    const total = Number(/of (\d+) questions answered/.exec(last.text)?.[1]);
    expect(last.text).toContain(`Answer the remaining ${total} questions to finish:`);
    const list = /<ul class="unanswered">([\s\S]*?)<\/ul>/.exec(withoutLaunchTokens(last.text))?.[1] ?? '';
    const links = [...list.matchAll(/href="(\/modules\/M07\/attempts\/[a-f0-9]{24}\/sections\/\d+#item-M07-[QR]\d+)"/g)];
    expect(links).toHaveLength(total);
  });

  test('when a single-best question is answered wrongly, then the key is labelled the correct answer, and the result shows the module score and each question right or wrong', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('moodle', 'coach2', { custom: { module_id: 'M04' } }));
    const module = await server.assessment.currentModule('M04');
    const pages = await sections(browser, landing);
    const { page, form } = formWith(pages, (f) => {
      const itemId = /items\/(M\d{2}\.Q\d+)/.exec(f.action)?.[1];
      const item = module.items.find((i) => i.id === itemId);
      return item?.kind === 'mcq' && !item.multiple;
    });
    const itemId = /items\/(M\d{2}\.Q\d+)/.exec(form.action)![1]!;
    const item = module.items.find((i) => i.id === itemId)!;
    if (item.kind !== 'mcq') throw new Error('not an mcq');
    // The form this attempt serves (the original or a variant), with its own key.
    const open = (await server.connection.db!.collection('attempts').findOne({ moduleId: 'M04' }))!;
    const served = (open.forms as { itemId: string; variantId: string | null }[]).find((f) => f.itemId === itemId)?.variantId;
    const options = formOf(item, served ?? undefined).options;
    const wrong = options.find((o) => !o.correct)!;
    const key = options.find((o) => o.correct)!;
    expect((await browser.post(form.action, { ...form.fields, selected: wrong.id })).status).toBe(303);
    const after = await browser.get(page.url);
    const block = itemHtml(after.text, `item-${itemId.replace('.', '-')}`);
    expect(block).not.toContain('Also correct');
    expect(decodeHtml(block)).toContain(`${key.text}</strong> <span class="verdict">(Correct answer)</span>`);

    const seen = await hurry(browser, await browser.get(page.url));
    const result = seen[seen.length - 1]!;
    expect(new URL(result.url).pathname).toMatch(/\/result$/);
    const attempt = (await server.connection.db!.collection('attempts').findOne({ moduleId: 'M04', status: 'completed' }))!;
    const mcqs = module.items.filter((i) => i.kind === 'mcq').length;
    expect(result.text).toMatch(/Module score: <strong>\d{1,3} \/ 100<\/strong>/);
    const summary = /(\d+) of (\d+) questions answered correctly/.exec(result.text)!;
    expect(Number(summary[2])).toBe(mcqs);
    expect(Number(summary[1])).toBeLessThan(mcqs);
    const rows = [...result.text.matchAll(/<li class="(right|wrong|pending|rated)">/g)].map((m) => m[1]);
    expect(rows).toHaveLength(module.items.length);
    expect(rows.filter((r) => r === 'wrong').length).toBe(mcqs - Number(summary[1]));
    expect(withoutLaunchTokens(result.text)).toMatch(
      new RegExp(`href="/modules/M04/attempts/${String(attempt._id)}/sections/\\d+#item-${itemId.replace('.', '-')}"`),
    );
  });

  test('when "Add selected" is sent with nothing ticked, then the module list comes back with an inline error and the selection can still be sent', async () => {
    const browser = new Browser();
    const who = seedIds('canvas', 'faculty');
    const page = await launch(server, browser, launchInput('canvas', 'faculty', { messageType: 'LtiDeepLinkingRequest' }));
    const form = parseForms(page.text, page.url)[0]!;
    const refused = await browser.post(form.action, { ...form.fields, action: 'add' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/role="alert"[\s\S]*Select at least one module, or choose Cancel\./);
    expect(refused.text).toContain(`href="#m-${form.choices.modules![0]}"`);
    expect(refused.text).toMatch(/<fieldset aria-invalid="true" aria-describedby="modules-error"/);
    expect(refused.text).toContain(who.name);
    const again = parseForms(refused.text, refused.url)[0]!;
    const sent = await browser.post(again.action, { ...again.fields, action: 'add', modules: 'M01' });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('Returning to your LMS');
  });

  test('when an assignment due date is not a date, then the assignments page answers 400 inline with every value kept, and nothing is saved', async () => {
    const browser = new Browser();
    const page = await launch(server, browser, launchInput('moodle', 'faculty', {}, 1));
    const get = await browser.get(new URL('/course/assignments', page.url).toString());
    const form = parseForms(get.text, get.url).find((f) => f.action.endsWith('/course/assignments'))!;
    const stored = () => server.connection.db!.collection('course_assignments').find({}).toArray();
    const before = JSON.stringify(await stored());
    const res = await browser.post(form.action, { ...form.fields, 'assign-M02': 'required', 'due-M03': '31/12/2026' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/role="alert"[\s\S]*The due date of M03 is not a date/);
    expect(res.text).toContain('href="#due-M03"');
    expect(res.text).toMatch(/id="due-M03" value="31\/12\/2026"[^>]*aria-invalid="true"/);
    expect(res.text).toMatch(/<select name="assign-M02" id="assign-M02"[^>]*><option value="required" selected>/);
    expect(JSON.stringify(await stored())).toBe(before);
  });

  test('when an observation lacks feedback, then the error summary links the field and marks it invalid, keeping the other values', async () => {
    const coach = seedIds('canvas', 'coach2', 1);
    await launch(server, new Browser(), launchInput('canvas', 'coach2', {}, 1));
    const user = (await server.connection.db!.collection('users').findOne({ sub: coach.userId }))!;
    const faculty = new Browser();
    const page = await launch(server, faculty, launchInput('canvas', 'faculty', {}, 1));
    const url = new URL(`/course/coaches/${String(user._id)}/observations/new`, page.url).toString();
    const get = await faculty.get(url);
    const form = parseForms(get.text, get.url).find((f) => f.action.endsWith('/observations'))!;
    const before = await server.connection.db!.collection('observations').countDocuments();
    const res = await faculty.post(form.action, { ...form.fields, setting: 'live', duration: '25', narrative: '  ' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/role="alert"[\s\S]*<a href="#narrative">Write feedback for the coach\.<\/a>/);
    expect(res.text).toMatch(/<textarea id="narrative"[^>]*aria-invalid="true" aria-describedby="narrative-error"/);
    expect(res.text).toMatch(/id="duration"[^>]*value="25"/);
    expect(await server.connection.db!.collection('observations').countDocuments()).toBe(before);
  });

  test('when the coach opens the profile after finishing a module, then times read as dates, not raw ISO, and the tables scroll inside a wrapper', async () => {
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('moodle', 'coach2', { custom: { module_id: 'M08' } }, 1));
    await hurry(browser, landing);
    const profile = await browser.get(new URL('/profile', landing.url).toString());
    expect(profile.status).toBe(200);
    expect(profile.text).toMatch(
      /\(updated <time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC<\/time>\)/,
    );
    expect(profile.text).not.toMatch(/>\d{4}-\d\d-\d\dT/);
    expect(profile.text).toMatch(/<div class="table-scroll" role="region" aria-label="[^"]+" tabindex="0">\s*<table>/);
  });

  test('when a request is refused on the error page (a form without its key), then the header still shows who is signed in', async () => {
    const browser = new Browser();
    const who = seedIds('moodle', 'coach2');
    const landing = await launch(server, browser, launchInput('moodle', 'coach2', { custom: { module_id: 'M09' } }));
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    const res = await browser.post(start.action, { _csrf: start.fields._csrf! });
    expect(res.status).toBe(400);
    expect(res.text).toContain('The form is missing its key: reload the page and try again.');
    expect(decodeHtml(res.text)).toContain(`<span class="who">${who.name}`);
    expect(await server.connection.db!.collection('attempts').countDocuments({ moduleId: 'M09' })).toBe(0);
  });
});
