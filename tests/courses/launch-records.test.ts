import mongoose from 'mongoose';
import { createLaunchRecords } from '../../src/courses/launch-records';
import type { LaunchContext } from '../../src/lti/claims';
import { testDatabaseUri } from '../support/test-server';

function launchOf(sub: string, overrides: { title?: string; moduleId?: string; custom?: Record<string, string> } = {}): LaunchContext {
  return {
    platform: { issuer: 'https://lms.example', clientId: 'c-1', deploymentId: 'd-1', productFamily: undefined, name: undefined },
    messageType: 'LtiResourceLinkRequest',
    user: { sub, name: `Coach ${sub}`, givenName: undefined, familyName: undefined, email: undefined },
    roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
    context: { id: 'course-1', label: 'C1', title: overrides.title ?? 'Coaching 101' },
    resourceLink: { id: 'link-1', title: 'Module one' },
    custom: overrides.custom ?? {},
    ags: undefined,
    nrps: undefined,
    deepLinking: undefined,
    returnUrl: undefined,
    targetLinkUri: undefined,
  };
}

describe('launch records', () => {
  const connection = mongoose.createConnection(testDatabaseUri('launchrecords'));
  afterAll(async () => {
    await connection.close();
  });

  test('when a class launches the same link, then the unchanged course and link are written once, and each person and membership every time', async () => {
    const records = createLaunchRecords(connection);
    const courses = connection.collection('courses');
    const first = await records.recordLaunch(launchOf('u-1'), 'M01');
    const written = await courses.findOne({ contextId: 'course-1' });
    // Mark the stored course: a skipped write leaves the mark, a write would not (the $set replaces lastLaunchAt).
    await courses.updateOne({ contextId: 'course-1' }, { $set: { lastLaunchAt: new Date(0) } });
    const second = await records.recordLaunch(launchOf('u-2'), 'M01');

    expect(second.course?.id).toBe(first.course?.id);
    expect(second.resourceLink?.id).toBe(first.resourceLink?.id);
    expect(second.resourceLink?.moduleId).toBe('M01');
    expect((await courses.findOne({ contextId: 'course-1' }))?.lastLaunchAt).toEqual(new Date(0));
    expect(written?.lastLaunchAt).toBeInstanceOf(Date);
    expect(await connection.collection('users').countDocuments()).toBe(2);
    expect(await connection.collection('memberships').countDocuments({ courseId: written?._id })).toBe(2);
  });

  test('when the course title changes, then the course is written at once', async () => {
    const records = createLaunchRecords(connection);
    await records.recordLaunch(launchOf('u-3'), undefined);
    const renamed = await records.recordLaunch(launchOf('u-3', { title: 'Coaching 102' }), undefined);
    expect(renamed.course?.title).toBe('Coaching 102');
    expect((await connection.collection('courses').findOne({ contextId: 'course-1' }))?.title).toBe('Coaching 102');
  });

  test('when the term arrives, changes or comes back unexpanded within the window, then the course is written at once and never loses a known value', async () => {
    const records = createLaunchRecords(connection);
    const courses = connection.collection('courses');
    const contextId = 'course-term';
    const launch = (sub: string, custom: Record<string, string>) => {
      const l = launchOf(sub, { custom });
      return records.recordLaunch({ ...l, context: { id: contextId, label: 'T', title: 'Term course' } }, undefined);
    };
    await launch('t-1', {});
    const first = await launch('t-1', { term_name: 'Spring 2026', term_start: '2026-01-12 00:00:00 -0700', course_end: '2026-06-30' });
    expect(first.course?.term).toEqual({
      termName: 'Spring 2026',
      termStart: new Date('2026-01-12T07:00:00Z'),
      courseEnd: new Date('2026-06-30T00:00:00Z'),
    });
    await launch('t-2', { term_name: 'Fall 2026' });
    expect((await courses.findOne({ contextId }))?.termName).toBe('Fall 2026');
    await launch('t-3', { term_name: '$Canvas.term.name', term_start: 'nonsense', course_end: '' });
    expect(await courses.findOne({ contextId })).toMatchObject({
      termName: 'Fall 2026',
      termStart: new Date('2026-01-12T07:00:00Z'),
      courseEnd: new Date('2026-06-30T00:00:00Z'),
    });
  });

  test('when the window is over, then an unchanged course is written again (its last launch moves on)', async () => {
    const records = createLaunchRecords(connection, { unchangedWriteMs: 0 });
    await records.recordLaunch(launchOf('u-4'), undefined);
    await connection.collection('courses').updateOne({ contextId: 'course-1' }, { $set: { lastLaunchAt: new Date(0) } });
    await records.recordLaunch(launchOf('u-4'), undefined);
    const stored = await connection.collection('courses').findOne({ contextId: 'course-1' });
    expect((stored?.lastLaunchAt as Date).getTime()).toBeGreaterThan(0);
  });
});
