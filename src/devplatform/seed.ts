import { createHash } from 'node:crypto';
import type { Model } from 'mongoose';
import type { CourseDoc, CourseRole, EnrollmentDoc, Models, UserDoc } from './store';
import { shapes, type Shape } from './types';

/**
 * Seed data: the same people and two courses on each platform shape, with ids in each LMS's style
 * (Canvas: UUID subs, 40-hex context ids; Moodle: small integers) so the tool never relies on one
 * format. Ids derive from fixed keys, so they are stable across restarts and databases.
 */

interface Person {
  key: string;
  given: string;
  family: string;
  /** Display name when it differs from "given family". */
  name?: string;
  siteAdmin?: boolean;
}

const staff: Person[] = [
  { key: 'site-admin', given: 'Morgan', family: 'Ellis', siteAdmin: true },
  { key: 'priya-raman', given: 'Priya', family: 'Raman', name: 'Dr. Priya Raman' },
  { key: 'marcus-oyelaran', given: 'Marcus', family: 'Oyelaran', name: 'Dr. Marcus Oyelaran' },
  { key: 'hannah-kowalski', given: 'Hannah', family: 'Kowalski' },
  { key: 'diego-fernandez', given: 'Diego', family: 'Fernández' },
];

const learnerNames: [string, string][] = [
  ['Amara', 'Okafor'],
  ['Benjamin', 'Hartley'],
  ['Chloé', 'Dubois'],
  ['Daniel', 'Kim'],
  ['Elena', 'Petrova'],
  ['Farah', 'Haddad'],
  ['Gabriel', 'Santos'],
  ['Hiroshi', 'Tanaka'],
  ['Isabella', 'Rossi'],
  ['Jamal', 'Washington'],
  ['Kavya', 'Iyer'],
  ['Liam', "O'Connor"],
  ['Mei Lin', 'Chen'],
  ['Noah', 'Abramowitz'],
  ['Olivia', 'Mensah'],
  ['Pedro', 'Alvarez'],
  ['Qing', 'Zhao'],
  ['Rachel', 'Goldberg'],
  ['Samuel', 'Adeyemi'],
  ['Tara', 'Nguyen'],
  ['Umar', 'Siddiqui'],
  ['Valentina', 'Cruz'],
  ['William', 'Becker'],
  ['Ximena', 'Torres'],
  ['Yusuf', 'Demir'],
  ['Zoe', 'Fitzgerald'],
  ['Aisha', 'Bello'],
  ['Ethan', 'Morales'],
  ['Sofia', 'Lindqvist'],
  ['Thomas', 'Wright'],
];

const learners: Person[] = learnerNames.map(([given, family]) => ({ key: slug(`${given} ${family}`), given, family }));
const people: Person[] = [...staff, ...learners];

interface CourseSeed {
  key: string;
  title: string;
  label: string;
  instructors: string[];
  tas: string[];
  learners: string[];
  inactive: string[];
  /** Canvas term (Canvas's date form) and Moodle course dates (ISO 8601), as each LMS expands them. */
  term: { name: string; startAt: string; endAt: string };
  start: string;
  end: string;
}

const courseSeeds: CourseSeed[] = [
  {
    key: 'coaching-skills-2026',
    title: 'Coaching Skills 2026',
    label: 'COACH-2026',
    instructors: ['priya-raman'],
    tas: ['hannah-kowalski'],
    learners: learners.slice(0, 26).map((p) => p.key),
    inactive: [learners[25]?.key ?? ''],
    term: { name: 'Spring 2026', startAt: '2026-01-12 00:00:00 -0700', endAt: '2026-06-30 23:59:59 -0600' },
    start: '2026-01-12T00:00:00+00:00',
    end: '2026-06-30T00:00:00+00:00',
  },
  {
    key: 'residency-coach-program',
    title: 'Residency Coach Program',
    label: 'RCP',
    instructors: ['priya-raman', 'marcus-oyelaran'],
    tas: ['diego-fernandez'],
    learners: learners.slice(4, 30).map((p) => p.key),
    inactive: [learners[26]?.key ?? ''],
    term: { name: 'Academic year 2026–27', startAt: '2026-07-01 00:00:00 -0600', endAt: '2027-06-30 23:59:59 -0600' },
    start: '2026-07-01T00:00:00+00:00',
    end: '2027-06-30T00:00:00+00:00',
  },
];

function slug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function hex(input: string): string {
  return createHash('sha1').update(input).digest('hex');
}

function uuidFrom(input: string): string {
  const h = hex(input);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function userIdFor(shape: Shape, personKey: string): string {
  const index = people.findIndex((p) => p.key === personKey);
  if (index < 0) throw new Error(`no seed person ${personKey}`);
  // Moodle: the site admin is user 2 (1 is the guest user); Canvas: opaque UUID subs.
  return shape === 'moodle' ? String(index + 2) : uuidFrom(`canvas:user:${personKey}`);
}

export function contextIdFor(shape: Shape, courseKey: string): string {
  const index = courseSeeds.findIndex((c) => c.key === courseKey);
  if (index < 0) throw new Error(`no seed course ${courseKey}`);
  return shape === 'moodle' ? String(index + 2) : hex(`canvas:course:${courseKey}`);
}

/** The resource link every course has: "My training" (a link with no module behind it). */
export function myTrainingLinkId(shape: Shape, contextId: string): string {
  return shape === 'moodle' ? `${contextId}01` : hex(`canvas:my-training:${contextId}`);
}

function email(person: Person): string {
  return `${slug(person.given)}.${slug(person.family)}@example.edu`.replace(/-/g, '');
}

function userDoc(shape: Shape, person: Person): UserDoc {
  const userId = userIdFor(shape, person.key);
  return {
    _id: `${shape}:${userId}`,
    shape,
    userId,
    key: person.key,
    // Canvas sends an opaque login_hint; Moodle sends the user id.
    loginHint: shape === 'canvas' ? hex(`canvas:login:${person.key}`).slice(0, 24) : userId,
    name: person.name ?? `${person.given} ${person.family}`,
    givenName: person.given,
    familyName: person.family,
    email: email(person),
    ...(shape === 'canvas' ? { legacyId: hex(`canvas:legacy:${person.key}`) } : {}),
    siteAdmin: person.siteAdmin === true,
  };
}

function courseDocs(shape: Shape): { course: CourseDoc; enrollments: EnrollmentDoc[] }[] {
  return courseSeeds.map((seed, index) => {
    const contextId = contextIdFor(shape, seed.key);
    const roster: [string, CourseRole][] = [
      ...seed.instructors.map((k): [string, CourseRole] => [k, 'instructor']),
      ...seed.tas.map((k): [string, CourseRole] => [k, 'ta']),
      ...seed.learners.map((k): [string, CourseRole] => [k, 'learner']),
    ];
    return {
      course: {
        _id: contextId,
        shape,
        key: seed.key,
        label: seed.label,
        title: seed.title,
        ...(shape === 'canvas'
          ? { canvasCourseId: String(101 + index), termName: seed.term.name, termStartAt: seed.term.startAt, termEndAt: seed.term.endAt }
          : { startDate: seed.start, endDate: seed.end }),
      },
      enrollments: roster.map(([key, role], position) => {
        const userId = userIdFor(shape, key);
        return {
          _id: `${contextId}:${userId}`,
          shape,
          contextId,
          userId,
          role,
          status: seed.inactive.includes(key) ? 'Inactive' : 'Active',
          position,
        };
      }),
    };
  });
}

/** Ids a test, a benchmark or the page needs, without touching the database. */
export interface Directory {
  courses: { shape: Shape; key: string; contextId: string; title: string; label: string }[];
  users: {
    shape: Shape;
    key: string;
    userId: string;
    name: string;
    siteAdmin: boolean;
    enrollments: { contextId: string; role: CourseRole; status: 'Active' | 'Inactive' }[];
  }[];
}

export function directory(): Directory {
  const courses: Directory['courses'] = [];
  const users: Directory['users'] = [];
  for (const shape of shapes) {
    const docs = courseDocs(shape);
    for (const { course } of docs)
      courses.push({ shape, key: course.key, contextId: course._id, title: course.title, label: course.label });
    for (const person of people) {
      const user = userDoc(shape, person);
      users.push({
        shape,
        key: person.key,
        userId: user.userId,
        name: user.name,
        siteAdmin: user.siteAdmin,
        enrollments: docs.flatMap(({ enrollments }) =>
          enrollments.filter((e) => e.userId === user.userId).map((e) => ({ contextId: e.contextId, role: e.role, status: e.status })),
        ),
      });
    }
  }
  return { courses, users };
}

/** Writes the seed (upserts by fixed _id, so running it again or concurrently changes nothing). */
export async function writeSeed(models: Models): Promise<void> {
  for (const shape of shapes) {
    const courses = courseDocs(shape);
    await upsertAll(
      models.users,
      people.map((p) => userDoc(shape, p)),
    );
    await upsertAll(
      models.courses,
      courses.map(({ course }) => course),
    );
    await upsertAll(
      models.enrollments,
      courses.flatMap(({ enrollments }) => enrollments),
    );
  }
}

async function upsertAll<T extends { _id: string }>(model: Model<T>, docs: T[]): Promise<void> {
  await model.bulkWrite(
    docs.map(({ _id, ...fields }) => ({ updateOne: { filter: { _id }, update: { $set: fields }, upsert: true } })) as Parameters<
      Model<T>['bulkWrite']
    >[0],
  );
}

/** Page personas: which seed person plays "coach", "faculty"… in a given course. */
export const personas = ['coach', 'coach2', 'faculty', 'ta', 'admin'] as const;
export type Persona = (typeof personas)[number];

export function personaKey(persona: Persona, courseKey: string): string | undefined {
  const seed = courseSeeds.find((c) => c.key === courseKey);
  if (!seed) return undefined;
  const activeLearners = seed.learners.filter((k) => !seed.inactive.includes(k));
  switch (persona) {
    case 'coach':
      return activeLearners[0];
    case 'coach2':
      return activeLearners[1];
    case 'faculty':
      return seed.instructors[0];
    case 'ta':
      return seed.tas[0];
    case 'admin':
      return 'site-admin';
  }
}

export function courseKeys(): { key: string; title: string }[] {
  return courseSeeds.map((c) => ({ key: c.key, title: c.title }));
}
