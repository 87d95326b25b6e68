import { Browser } from '../support/browser';
import { launch, launchInput, prepareLaunch, seedIds } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

/** Term and course dates requested as custom parameters, expanded by the built-in platform and kept on the course. */
describe('term and course dates sent by the LMS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const courseDoc = async (shape: 'canvas' | 'moodle', courseIndex: number) => {
    const reg = await server.devPlatform!.registration(shape);
    return server.connection.db!.collection('courses').findOne({
      issuer: reg!.issuer,
      clientId: reg!.clientId,
      contextId: seedIds(shape, 'coach', courseIndex).contextId,
    });
  };

  test('when a Canvas-shaped platform launches, then it expands the Canvas term variables and leaves the LIS course dates literal', async () => {
    const { claims } = await prepareLaunch(server, new Browser(), launchInput('canvas', 'coach'));
    expect(claims['https://purl.imsglobal.org/spec/lti/claim/custom']).toMatchObject({
      term_name: 'Spring 2026',
      term_start: '2026-01-12 00:00:00 -0700',
      term_end: '2026-06-30 23:59:59 -0600',
      course_start: '$CourseSection.timeFrame.begin',
    });
  });

  test('when a Canvas course launches, then its term is stored; a later launch with the term unexpanded does not erase it', async () => {
    const page = await launch(server, new Browser(), launchInput('canvas', 'coach', {}, 1));
    expect(page.status).toBe(200);
    const stored = await courseDoc('canvas', 1);
    expect(stored).toMatchObject({
      termName: 'Academic year 2026–27',
      termStart: new Date('2026-07-01T06:00:00Z'),
      termEnd: new Date('2027-07-01T05:59:59Z'),
    });
    expect(stored!.courseStart).toBeUndefined();

    const later = launchInput('canvas', 'faculty', { custom: { term_name: '$Canvas.term.name', term_start: '', term_end: 'soon' } }, 1);
    expect((await launch(server, new Browser(), later)).status).toBe(200);
    expect(await courseDoc('canvas', 1)).toMatchObject({
      termName: 'Academic year 2026–27',
      termStart: new Date('2026-07-01T06:00:00Z'),
      termEnd: new Date('2027-07-01T05:59:59Z'),
    });
  });

  test('when a Moodle course launches, then its ISO 8601 course dates are stored and no term', async () => {
    expect((await launch(server, new Browser(), launchInput('moodle', 'coach'))).status).toBe(200);
    const stored = await courseDoc('moodle', 0);
    expect(stored).toMatchObject({ courseStart: new Date('2026-01-12T00:00:00Z'), courseEnd: new Date('2026-06-30T00:00:00Z') });
    expect(stored!.termName).toBeUndefined();
  });
});
