import { devPlatformDirectory, type LaunchInput, type Shape } from '../../src/devplatform';
import type { RunningServer } from '../../src/server';
import type { Browser } from './browser';
import { parseForms, type PageResponse } from './browser';

export type Persona = 'coach' | 'coach2' | 'faculty' | 'ta' | 'admin';

const roleOf: Record<Exclude<Persona, 'admin' | 'coach2'>, string> = { coach: 'learner', faculty: 'instructor', ta: 'ta' };

/** Seed ids of the built-in platform: a course of that shape and the person playing a persona in it. */
export function seedIds(
  shape: Shape,
  persona: Persona,
  courseIndex = 0,
): { contextId: string; userId: string; name: string; courseTitle: string } {
  const dir = devPlatformDirectory();
  const course = dir.courses.filter((c) => c.shape === shape)[courseIndex];
  if (!course) throw new Error(`no course ${courseIndex} for ${shape}`);
  const inCourse = dir.users.filter(
    (u) => u.shape === shape && u.enrollments.some((e) => e.contextId === course.contextId && e.status === 'Active'),
  );
  let user;
  if (persona === 'admin') {
    user = dir.users.find((u) => u.shape === shape && u.siteAdmin);
  } else if (persona === 'coach2') {
    user = inCourse.filter((u) =>
      u.enrollments.some((e) => e.contextId === course.contextId && String(e.role).toLowerCase() === 'learner'),
    )[1];
  } else {
    user = inCourse.find((u) =>
      u.enrollments.some((e) => e.contextId === course.contextId && String(e.role).toLowerCase() === roleOf[persona]),
    );
  }
  if (!user) throw new Error(`no ${persona} in ${course.contextId}`);
  return { contextId: course.contextId, userId: user.userId, name: user.name, courseTitle: course.title };
}

/**
 * The whole OIDC round trip as a browser in an LMS iframe does it: login initiation at the tool,
 * the platform's authorization endpoint, the auto-posted id_token back to the tool.
 * Returns the tool's answer to the launch POST (a redirect on success, a page on refusal).
 */
export async function launchPost(server: RunningServer, browser: Browser, input: LaunchInput): Promise<PageResponse> {
  if (!server.devPlatform) throw new Error('the development platform is not running');
  const start = await server.devPlatform.startLaunch(input);
  const login = await browser.post(start.url, start.params);
  if (login.status !== 302 || !login.location) throw new Error(`login initiation answered ${login.status}: ${login.text.slice(0, 300)}`);
  const auth = await browser.get(login.location);
  if (auth.status !== 200) throw new Error(`platform auth answered ${auth.status}: ${auth.text.slice(0, 300)}`);
  return browser.submitForm(auth);
}

/** Launches and follows the redirect to the landing page. */
export async function launch(server: RunningServer, browser: Browser, input: LaunchInput): Promise<PageResponse> {
  const res = await launchPost(server, browser, input);
  return browser.follow(res);
}

export function launchInput(shape: Shape, persona: Persona, extra: Partial<LaunchInput> = {}, courseIndex = 0): LaunchInput {
  const ids = seedIds(shape, persona, courseIndex);
  return { shape, userId: ids.userId, contextId: ids.contextId, ...extra };
}

/** Runs login and the platform's authorization, and stops before posting the id_token to the tool. */
export async function prepareLaunch(
  server: RunningServer,
  browser: Browser,
  input: LaunchInput,
): Promise<{ launchUrl: string; idToken: string; state: string; claims: Record<string, unknown> }> {
  if (!server.devPlatform) throw new Error('the development platform is not running');
  const start = await server.devPlatform.startLaunch(input);
  const login = await browser.post(start.url, start.params);
  if (!login.location) throw new Error(`login initiation answered ${login.status}`);
  const auth = await browser.get(login.location);
  const form = parseForms(auth.text, auth.url)[0];
  if (!form?.fields.id_token || !form.fields.state) throw new Error(`no id_token form: ${auth.text.slice(0, 300)}`);
  const claims = JSON.parse(Buffer.from(form.fields.id_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { launchUrl: form.action, idToken: form.fields.id_token, state: form.fields.state, claims };
}

/** Document counts of every collection: "nothing was persisted" is "no count changed". */
export async function documentCounts(server: RunningServer): Promise<Record<string, number>> {
  const db = server.connection.db;
  if (!db) throw new Error('not connected');
  const counts: Record<string, number> = {};
  for (const c of await db.listCollections().toArray()) counts[c.name] = await db.collection(c.name).countDocuments();
  return counts;
}
