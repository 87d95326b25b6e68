import type { Coach } from '../../src/assessment/assessment-service';
import type { Shape } from '../../src/devplatform';
import type { RunningServer } from '../../src/server';
import { Browser, findLink, parseForms, type PageResponse } from './browser';
import { launch, launchInput } from './lti-launch';

/**
 * A hurried coach: submits every form with its first option and some text, follows "start / next /
 * continue / finish" — no JavaScript. Returns every page seen, the last being the result.
 */
export async function hurry(
  browser: Browser,
  landing: PageResponse,
  maxSteps = 200,
  text = 'I would start by asking what the learner wants from our time together.',
): Promise<PageResponse[]> {
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
      for (const name of action.textareas) extra[name] = text;
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

/**
 * Launches a learner (so our records exist) and finishes a module through the service, answering correctly.
 * Returns our ids of the learner and the course.
 */
export async function finishModule(
  server: RunningServer,
  shape: Shape,
  userSub: string,
  contextId: string,
  moduleId: string,
): Promise<{ userId: string; courseId: string }> {
  await launch(server, new Browser(), { shape, userId: userSub, contextId });
  const db = server.connection.db!;
  const user = (await db.collection('users').findOne({ sub: userSub }))!;
  const course = (await db.collection('courses').findOne({ contextId }))!;
  const coach: Coach = {
    userId: user._id.toHexString(),
    courseId: course._id.toHexString(),
    issuer: course.issuer as string,
    clientId: course.clientId as string,
    deploymentId: course.deploymentId as string,
    resourceLinkId: undefined,
  };
  const module = await server.assessment.currentModule(moduleId);
  const attempt = await server.assessment.startOrResume(coach, moduleId, `start-${userSub}-${moduleId}-xxxxxxxx`);
  for (const item of module.items) {
    await server.assessment.answer(
      coach,
      attempt.id,
      item.id,
      item.kind === 'mcq'
        ? { kind: 'mcq', selected: [item.options.find((o) => o.correct)!.id] }
        : { kind: 'reflection', text: 'My reflection.', selfLevel: 'proficient' },
    );
  }
  await server.assessment.complete(coach, attempt.id);
  return { userId: user._id.toHexString(), courseId: course._id.toHexString() };
}

/**
 * The faculty pages' usual scene in the first Canvas-shaped course: a coach who finished M01 (its reflections
 * await a rating) and was observed once by faculty (who has launched, so the tool knows them).
 */
export async function seedObservedCoach(
  server: RunningServer,
  ratings: { competencyId: string; level: 'novice' | 'developing' | 'proficient' | 'expert' }[],
): Promise<{ coachId: string; attemptId: string }> {
  const coachBrowser = new Browser();
  const landing = await launch(server, coachBrowser, launchInput('canvas', 'coach'));
  await hurry(coachBrowser, await coachBrowser.get(new URL('/modules/M01', landing.url).toString()));
  await launch(server, new Browser(), launchInput('canvas', 'faculty'));
  const db = server.connection.db!;
  const coach = (await db.collection('users').findOne({ sub: launchInput('canvas', 'coach').userId }))!;
  const faculty = (await db.collection('users').findOne({ sub: launchInput('canvas', 'faculty').userId }))!;
  const course = (await db.collection('courses').findOne({ contextId: launchInput('canvas', 'coach').contextId }))!;
  await server.assessment.recordObservation({
    userId: coach._id.toHexString(),
    courseId: course._id.toHexString(),
    observerId: faculty._id.toHexString(),
    observerName: 'Dr. Observer',
    observedOn: new Date(),
    setting: 'simulated',
    durationMinutes: 25,
    instrumentVersion: 1,
    ratings,
    narrative: 'You let the learner name the agenda and summarised before moving on.',
  });
  const attempt = (await db.collection('attempts').findOne({ userId: coach._id, moduleId: 'M01' }))!;
  return { coachId: coach._id.toHexString(), attemptId: attempt._id.toHexString() };
}
