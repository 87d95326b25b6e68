import { Types } from 'mongoose';
import { devPlatformDirectory, type Shape } from '../../src/devplatform';
import { formOf } from '../../src/curriculum/presentation';
import type { RubricLevel } from '../../src/curriculum/content-schema';
import { Browser, decodeHtml, findLink, parseForms, type PageResponse, withoutLaunchTokens } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(300_000);

const moduleIds = ['M01', 'M02', 'M03', 'M04', 'M05', 'M06', 'M07', 'M08', 'M09', 'M10'];

function people(shape: Shape, courseIndex: number, role: 'learner' | 'instructor'): { userId: string; name: string; contextId: string }[] {
  const dir = devPlatformDirectory();
  const course = dir.courses.filter((c) => c.shape === shape)[courseIndex]!;
  return dir.users
    .filter((u) =>
      u.enrollments.some((e) => e.contextId === course.contextId && e.status === 'Active' && String(e.role).toLowerCase() === role),
    )
    .map((u) => ({ userId: u.userId, name: u.name, contextId: course.contextId }));
}

interface ShownOption {
  id: string;
  text: string;
}

/** What a coach does with a question (options as displayed) and a reflection. */
interface Strategy {
  choose(options: ShownOption[], multiple: boolean, key: string[]): string[];
  reflection: { text: string; selfLevel: RubricLevel };
}

const lazyReflection = { text: 'ok', selfLevel: 'expert' as const };
const strategies: Record<string, Strategy> = {
  'longest option': {
    choose: (options, multiple) => {
      const sorted = [...options].sort((a, b) => b.text.length - a.text.length);
      return multiple ? sorted.slice(0, Math.ceil(options.length / 2)).map((o) => o.id) : [sorted[0]!.id];
    },
    reflection: lazyReflection,
  },
  'first option': { choose: (options) => [options[0]!.id], reflection: lazyReflection },
  'every option on multi-select': {
    choose: (options, multiple) => (multiple ? options.map((o) => o.id) : [options[0]!.id]),
    reflection: lazyReflection,
  },
};
const diligent: Strategy = {
  choose: (_options, _multiple, key) => key,
  reflection: {
    text: 'I opened by asking what the learner wanted from coaching, named the limits of confidentiality, and agreed a first step she chose. Next time I will wait longer before offering ideas.',
    selfLevel: 'developing',
  },
};

/** The options of the question form `itemId` as shown, in display order. */
function shownOptions(html: string, itemId: string): ShownOption[] {
  const anchor = `item-${itemId.replace('.', '-')}`;
  const out: ShownOption[] = [];
  const re = new RegExp(
    `<input type="(?:radio|checkbox)" name="selected" value="([a-h])" id="${anchor}-[a-h]">\\s*<label for="${anchor}-[a-h]">([^<]*)</label>`,
    'g',
  );
  for (const m of html.matchAll(re)) out.push({ id: m[1]!, text: decodeHtml(m[2]!) });
  return out;
}

/** Plays one module through the HTTP flow with a strategy; the key is looked up only for the diligent coach. */
async function playModule(server: TestServer, browser: Browser, landing: PageResponse, strategy: Strategy): Promise<string> {
  let page = landing;
  for (let step = 0; step < 200 && !new URL(page.url).pathname.endsWith('/result'); step += 1) {
    if (page.status !== 200) throw new Error(`HTTP ${page.status} at ${page.url}: ${page.text.slice(0, 300)}`);
    const forms = parseForms(page.text, page.url);
    const item = forms.find((f) => f.action.includes('/items/'));
    if (item) {
      const itemId = item.action.split('/').pop()!;
      if (item.textareas.length > 0) {
        page = await browser.follow(await browser.post(item.action, { ...item.fields, ...strategy.reflection }));
      } else {
        const attemptId = /\/attempts\/([a-f0-9]{24})\//.exec(item.action)![1]!;
        // Only the diligent coach uses the key; it is read from the attempt's served form, never from the page.
        const attempt = (await server.connection.db!.collection('attempts').findOne({ _id: new Types.ObjectId(attemptId) }))!;
        const module = await server.assessment.currentModule(attempt.moduleId as string);
        const question = module.items.find((i) => i.id === itemId)!;
        if (question.kind !== 'mcq') throw new Error('expected a question');
        const served = (attempt.forms as { itemId: string; variantId: string | null }[]).find((f) => f.itemId === itemId)?.variantId;
        const key = formOf(question, served ?? undefined)
          .options.filter((o) => o.correct)
          .map((o) => o.id);
        const selected = strategy.choose(shownOptions(page.text, itemId), question.multiple, key);
        page = await browser.follow(await browser.post(item.action, { ...item.fields, selected }));
      }
      continue;
    }
    const action = forms.find((f) => /\/attempts$|\/complete$/.test(f.action));
    if (action) {
      page = await browser.follow(await browser.post(action.action, action.fields));
      continue;
    }
    const next = findLink(page, /^(Next section|Continue where you left off|Start)/);
    if (!next) throw new Error(`stuck at ${page.url}`);
    page = await browser.get(next);
  }
  return page.url;
}

/** Faculty rate every reflection of one coach through the rating pages: every criterion at `level`, with a comment. */
async function rateAll(faculty: Browser, server: TestServer, learnerName: string, level: RubricLevel, comment: string): Promise<number> {
  const list = await faculty.get(`${server.url}/course/reflections`);
  const rows = [...withoutLaunchTokens(list.text).matchAll(/<tr><td>([^<]*)<\/td><td>[^<]*<\/td><td><a href="([^"]+)">/g)].filter(
    (m) => decodeHtml(m[1]!) === learnerName,
  );
  for (const row of rows) {
    const page = await faculty.get(`${server.url}${row[2]!}`);
    const form = parseForms(page.text, page.url).find((f) => f.action.endsWith(row[2]!))!;
    const criteria = Object.keys(form.choices).filter((n) => n.startsWith('criterion-'));
    const res = await faculty.post(form.action, { ...form.fields, ...Object.fromEntries(criteria.map((n) => [n, level])), comment });
    if (res.status !== 303) throw new Error(`rating answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
  return rows.length;
}

async function drained(server: TestServer, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await server.outbox.pendingCount()) > 0) {
    if (Date.now() > until) throw new Error('outbox not drained');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the score model through the real HTTP flow', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { worker: { baseBackoffMs: 20, maxBackoffMs: 200, idlePollMs: 50 } } });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when test-wise coaches play every module and faculty rate their one-word reflections novice, then no competency reaches Proficient in our scores or the LMS; a diligent coach rated proficient reaches Proficient', async () => {
    const shape: Shape = 'canvas';
    const learners = people(shape, 0, 'learner');
    const players = [...Object.entries(strategies), ['diligent', diligent] as const].map(([name, strategy], i) => ({
      name,
      strategy,
      learner: learners[i + 4]!,
    }));
    for (const p of players) {
      const browser = new Browser();
      for (const moduleId of moduleIds) {
        const landing = await launch(
          server,
          browser,
          launchInput(shape, 'coach', { userId: p.learner.userId, custom: { module_id: moduleId } }),
        );
        expect(new URL(await playModule(server, browser, landing, p.strategy)).pathname).toMatch(/\/result$/);
      }
    }
    const db = server.connection.db!;
    const scoresOf = async (userSub: string) => {
      const user = (await db.collection('users').findOne({ sub: userSub }))!;
      return (await db.collection('competency_scores').findOne({ userId: user._id }))!.scores as {
        competencyId: string;
        status: string;
        level?: string;
      }[];
    };
    // Before any faculty rating nobody has a number: reflections are the required faculty-rated evidence.
    for (const p of players) expect((await scoresOf(p.learner.userId)).every((s) => s.status === 'insufficient-evidence')).toBe(true);

    const faculty = new Browser();
    await launch(server, faculty, launchInput(shape, 'faculty'));
    for (const p of players) {
      const rated = await rateAll(
        faculty,
        server,
        p.learner.name,
        p.name === 'diligent' ? 'proficient' : 'novice',
        p.name === 'diligent' ? 'Specific and honest; keep naming the learner’s own words.' : 'Too brief to show the skill.',
      );
      expect(rated).toBe(20);
    }
    await drained(server);
    const book = await server.devPlatform!.gradebook(people(shape, 0, 'learner')[0]!.contextId);
    const columns = book.lineItems.filter((l) => l.tag === 'coaching-competency');
    expect(columns).toHaveLength(13);
    for (const p of players) {
      const scores = await scoresOf(p.learner.userId);
      expect(scores).toHaveLength(13);
      const comments = columns.map((c) => c.results.find((r) => r.userId === p.learner.userId)?.comment ?? '');
      if (p.name === 'diligent') {
        expect(scores.map((s) => s.level)).toEqual(Array(13).fill('proficient'));
        for (const c of comments) expect(c).toMatch(/^Proficient · \d+\/100 · from \d+ modules$/);
      } else {
        for (const s of scores) expect(['novice', 'developing', undefined]).toContain(s.level);
        for (const c of comments) expect(c).not.toMatch(/Proficient|Expert/);
      }
    }
  });

  test('when a coach reloads a question, then the option order is the same, the order shown is recorded with the answer, and a retake serves parallel forms not seen before', async () => {
    const learner = people('moodle', 0, 'learner')[5]!;
    const browser = new Browser();
    const landing = await launch(server, browser, launchInput('moodle', 'coach', { userId: learner.userId, custom: { module_id: 'M05' } }));
    const start = parseForms(landing.text, landing.url).find((f) => f.action.endsWith('/attempts'))!;
    let page = await browser.follow(await browser.post(start.action, start.fields));
    let form = parseForms(page.text, page.url).find((f) => f.action.includes('/items/') && f.textareas.length === 0);
    while (!form) {
      page = await browser.get(findLink(page, /^Next section/)!);
      form = parseForms(page.text, page.url).find((f) => f.action.includes('/items/') && f.textareas.length === 0);
    }
    const itemId = form.action.split('/').pop()!;
    const first = shownOptions(page.text, itemId);
    const again = shownOptions((await browser.get(page.url)).text, itemId);
    expect(again).toEqual(first);
    await browser.post(form.action, { ...form.fields, selected: first[0]!.id });
    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: learner.userId }))!;
    const attempt = (await db.collection('attempts').findOne({ userId: user._id, moduleId: 'M05' }))!;
    const answer = (attempt.answers as { itemId: string; displayedOrder: string[]; variantId?: string }[]).find(
      (a) => a.itemId === itemId,
    )!;
    expect(answer.displayedOrder).toEqual(first.map((o) => o.id));
    expect(answer.variantId).toBeUndefined();

    await playModule(server, browser, await browser.get(page.url), strategies['first option']!);
    const retakeStart = await browser.get(`${server.url}/modules/M05`);
    const retakeForm = parseForms(retakeStart.text, retakeStart.url).find((f) => f.action.endsWith('/attempts'))!;
    const retake = await browser.follow(await browser.post(retakeForm.action, retakeForm.fields));
    expect(retake.status).toBe(200);
    const attempts = await db.collection('attempts').find({ userId: user._id, moduleId: 'M05' }).sort({ number: 1 }).toArray();
    expect(attempts).toHaveLength(2);
    const served = (a: (typeof attempts)[number]) => (a.forms as { itemId: string; variantId: string | null }[]).map((f) => f.variantId);
    expect(served(attempts[0]!).every((v) => v === null)).toBe(true);
    expect(served(attempts[1]!).every((v) => v === 'v1')).toBe(true);
    // The retake page shows the variant's stem, not the original one whose key the feedback revealed.
    const module = await server.assessment.currentModule('M05');
    const q = module.items.find((i) => i.kind === 'mcq' && i.section === module.sections[0]!.id);
    if (q && q.kind === 'mcq') {
      const sectionPage = await browser.get(`${server.url}/modules/M05/attempts/${attempts[1]!._id.toHexString()}/sections/1`);
      expect(decodeHtml(sectionPage.text)).toContain(q.variants![0]!.stem.slice(0, 40));
    }
  });

  test('when faculty rate a reflection, then they rate blind to the self-rating, bad input gets an inline 400 and changes nothing, and a second rater sees the agreement after rating', async () => {
    const shape: Shape = 'canvas';
    const learner = people(shape, 1, 'learner')[6]!;
    const [firstRater, secondRater] = people(shape, 1, 'instructor');
    const coach = new Browser();
    const landing = await launch(server, coach, launchInput(shape, 'coach', { userId: learner.userId, custom: { module_id: 'M06' } }, 1));
    const reflection = {
      text: 'I checked my assumption about the learner before the meeting and asked open questions.',
      selfLevel: 'expert' as const,
    };
    await playModule(server, coach, landing, { choose: (o) => [o[0]!.id], reflection });

    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: learner.userId }))!;
    const attempt = (await db.collection('attempts').findOne({ userId: user._id, moduleId: 'M06' }))!;
    const url = `/course/reflections/${attempt._id.toHexString()}/M06.R1`;

    const first = new Browser();
    await launch(server, first, launchInput(shape, 'faculty', { userId: firstRater!.userId }, 1));
    const blind = await first.get(`${server.url}${url}`);
    expect(blind.status).toBe(200);
    expect(blind.text).toContain(reflection.text);
    expect(blind.text).not.toContain('self-rating: <strong>');
    expect(blind.text).toContain('Exemplar responses per level');
    const form = parseForms(blind.text, blind.url).find((f) => f.action.endsWith(url))!;
    const criteria = Object.keys(form.choices).filter((n) => n.startsWith('criterion-'));
    expect(criteria.length).toBeGreaterThanOrEqual(3);
    const all = (level: RubricLevel) => Object.fromEntries(criteria.map((n) => [n, level]));

    const noComment = await first.post(form.action, { ...form.fields, ...all('developing'), comment: '  ' });
    expect(noComment.status).toBe(400);
    expect(noComment.text).toContain('role="alert"');
    expect(noComment.text).toContain('Write a comment for the coach.');
    const missingCriterion = await first.post(form.action, {
      ...form.fields,
      ...all('developing'),
      [criteria[0]!]: '',
      comment: 'Good start.',
    });
    expect(missingCriterion.status).toBe(400);
    expect(missingCriterion.text).toContain('Rate the criterion');
    const unchanged = (await db.collection('attempts').findOne({ _id: attempt._id }))!;
    expect(
      (unchanged.answers as { itemId: string; facultyLevel?: string }[]).find((a) => a.itemId === 'M06.R1')!.facultyLevel,
    ).toBeUndefined();

    const saved = await first.post(form.action, {
      ...form.fields,
      ...all('developing'),
      comment: 'Good noticing; say what you will do differently.',
    });
    expect(saved.status).toBe(303);
    const after = await first.get(`${server.url}${url}`);
    expect(after.text).toContain('self-rating: <strong>Expert</strong>');
    const scoresBefore = (await db.collection('competency_scores').findOne({ userId: user._id }))!;

    const second = new Browser();
    await launch(server, second, launchInput(shape, 'faculty', { userId: secondRater!.userId }, 1));
    const secondPage = await second.get(`${server.url}${url}`);
    expect(secondPage.text).toContain('Second rating');
    expect(secondPage.text).not.toContain('First rating by a colleague');
    expect(secondPage.text).not.toContain('self-rating: <strong>');
    const secondForm = parseForms(secondPage.text, secondPage.url).find((f) => f.action.endsWith(url))!;
    const levels = { ...all('developing'), [criteria[0]!]: 'proficient' };
    expect((await second.post(secondForm.action, { ...secondForm.fields, ...levels, comment: 'Agree overall.' })).status).toBe(303);
    const agreement = await second.get(`${server.url}${url}`);
    expect(agreement.text).toContain(
      `${criteria.length - 1} of ${criteria.length} criteria rated the same, ${criteria.length} of ${criteria.length} within one level`,
    );
    expect(agreement.text).toContain('First rating by a colleague: <strong>Developing</strong>');
    // The second rating is shown with the agreement; the first rating stays the rating of record (no rescoring).
    const scoresAfter = (await db.collection('competency_scores').findOne({ userId: user._id }))!;
    expect(scoresAfter.version).toBe(scoresBefore.version);
    // History: one snapshot for finishing the module, one for the first rating; the current one is the latest.
    const history = await db.collection('competency_score_history').find({ userId: user._id }).sort({ version: 1 }).toArray();
    expect(history.map((h) => h.version)).toEqual([scoresAfter.version - 1, scoresAfter.version]);
    expect(history[1]!.scores).toEqual(scoresAfter.scores);

    // The coach sees the first rater's comment and level beside the reflection, not the second rater's.
    const module = await server.assessment.currentModule('M06');
    const sectionNumber = module.sections.findIndex((x) => x.id === module.items.find((i) => i.id === 'M06.R1')!.section) + 1;
    const coachView = await coach.get(`${server.url}/modules/M06/attempts/${attempt._id.toHexString()}/sections/${sectionNumber}`);
    expect(coachView.text).toContain('Good noticing; say what you will do differently.');
    expect(coachView.text).toContain('faculty rated it <strong>Developing</strong>');
    expect(coachView.text).not.toContain('Agree overall.');
    const profile = await coach.get(`${server.url}/profile`);
    expect(profile.text).toContain('Change over time');
  });

  test('when a coach has scores stored by the earlier model, then the profile still shows them, marked as such', async () => {
    const learner = people('moodle', 1, 'learner')[7]!;
    const browser = new Browser();
    await launch(server, browser, launchInput('moodle', 'coach', { userId: learner.userId }, 1));
    const db = server.connection.db!;
    const user = (await db.collection('users').findOne({ sub: learner.userId }))!;
    const course = (await db.collection('courses').findOne({ contextId: learner.contextId }))!;
    await db.collection('competency_scores').insertOne({
      userId: user._id,
      courseId: course._id,
      scores: [{ competencyId: 'C1.1', score: 81.25, level: 'proficient', modules: ['M01'], objectives: 2, pendingFacultyRating: true }],
      computedAt: new Date(),
      version: 1,
    });
    const profile = await browser.get(`${server.url}/profile`);
    expect(profile.status).toBe(200);
    expect(profile.text).toMatch(/C1\.1 Establishing the coaching agreement<\/th><td>81 \/ 100/);
    expect(profile.text).toContain('computed by the earlier score model');
  });
});
