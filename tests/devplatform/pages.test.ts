import request from 'supertest';
import { accessToken, allScopes, formFields, registrationOf, seedIds, startHarness, type Harness } from './support';

describe('dev platform: pages', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('when the start page is opened, then it shows the banner, labelled choices and both registrations', async () => {
    h = await startHarness();
    const res = await request(h.url).get('/dev/platform').expect(200).expect('Content-Type', /html/);
    expect(res.text).toContain('Development test platform — not for production');
    expect(res.text).toContain('can launch CoachLTI as anyone');
    for (const id of ['dp-shape', 'dp-course', 'dp-persona', 'dp-what']) expect(res.text).toContain(`<label for="${id}"`);
    expect(res.text).toContain('Add content (deep linking)');
    expect(res.text).toContain((await registrationOf(h, 'canvas')).clientId);
    expect(res.text).toContain((await registrationOf(h, 'moodle')).clientId);
    expect(res.text).not.toContain('<iframe');
  });

  test('when a launch is chosen, then the page frames /dev/platform/launch which auto-posts the login initiation to the tool', async () => {
    h = await startHarness();
    const page = await request(h.url)
      .get('/dev/platform/')
      .query({ shape: 'moodle', course: 'residency-coach-program', persona: 'faculty', what: 'training', go: 'launch' })
      .expect(200);
    const src = /<iframe name="tool"[^>]*src="([^"]+)"/
      .exec(page.text)?.[1]
      ?.replace(/&amp;/g, '&')
      .replace(/&#x3D;/g, '=');
    expect(src).toMatch(/^\/dev\/platform\/launch\?/);
    expect(page.text).toContain('Launched as Dr. Priya Raman');
    const launch = await request(h.url)
      .get(src ?? '')
      .expect(200);
    const { action, fields } = formFields(launch.text);
    expect(action).toBe(`${h.tool.url}/lti/login`);
    expect(fields).toMatchObject({ iss: `${h.platformUrl}/moodle`, client_id: (await registrationOf(h, 'moodle')).clientId });
    expect(launch.text).toContain('data-devplatform-autosubmit');
    expect(launch.text).toContain('<button type="submit">Continue</button>');
    expect(launch.text).toContain('/dev/platform/assets/autosubmit.js');
    await request(h.url)
      .get('/dev/platform/assets/autosubmit.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
  });

  test('when a coach asks to add content, then the page explains that only faculty may', async () => {
    h = await startHarness();
    const page = await request(h.url)
      .get('/dev/platform/')
      .query({ shape: 'canvas', persona: 'coach', what: 'deeplink', go: 'launch' })
      .expect(200);
    expect(page.text).toContain('Only faculty and administrators');
    expect(page.text).not.toContain('<iframe');
  });

  test('when the platform is not registered, then the page offers registration and the button registers both shapes', async () => {
    h = await startHarness({ register: false });
    const page = await request(h.url).get('/dev/platform/').query({ go: 'launch' }).expect(200);
    expect(page.text).toContain('not registered with the tool yet');
    expect(page.text).toContain('action="/dev/platform/register-tool"');
    await request(h.url).post('/dev/platform/register-tool').expect(303).expect('Location', '/dev/platform/?registered=1');
    expect(await h.platform.registration('canvas')).not.toBeNull();
    expect(await h.platform.registration('moodle')).not.toBeNull();
  });

  test('when the gradebook is opened, then it shows line items, latest scores and the registration with its privacy level', async () => {
    h = await startHarness();
    const ids = seedIds('canvas');
    const index = await request(h.url).get('/dev/platform/gradebook').expect(200);
    expect(index.text).toContain('Coaching Skills 2026');
    const empty = await request(h.url).get('/dev/platform/gradebook').query({ shape: 'canvas', context: ids.course }).expect(200);
    expect(empty.text).toContain('Gradebook: Coaching Skills 2026');
    expect(empty.text).toContain('public');
    expect(empty.text).toContain((await registrationOf(h, 'canvas')).deploymentId);
    expect(empty.text).toContain('https://purl.imsglobal.org/spec/lti-ags/scope/score');
    expect(empty.text).toContain('has not created any line items');
    expect(empty.text).toContain('Registration request as the tool sent it');
  });

  test('when the tool has sent scores, then the gradebook lists the latest score per learner', async () => {
    h = await startHarness();
    const ids = seedIds('canvas');
    const token = await accessToken(h, 'canvas', [allScopes[0] ?? '', allScopes[3] ?? '']);
    const created = await request(h.url)
      .post(`/dev/platform/canvas/contexts/${ids.course}/lineitems`)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/vnd.ims.lis.v2.lineitem+json')
      .send(JSON.stringify({ label: 'M03 Feedback', scoreMaximum: 10 }))
      .expect(201);
    for (const [timestamp, scoreGiven] of [
      ['2026-04-01T10:00:00Z', 6],
      ['2026-04-01T11:00:00Z', 8],
    ] as const) {
      await request(h.url)
        .post(`${new URL((created.body as { id: string }).id).pathname}/scores`)
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/vnd.ims.lis.v1.score+json')
        .send(
          JSON.stringify({
            userId: ids.learner,
            timestamp,
            scoreGiven,
            scoreMaximum: 10,
            activityProgress: 'Completed',
            gradingProgress: 'FullyGraded',
          }),
        )
        .expect(200);
    }
    const page = await request(h.url).get('/dev/platform/gradebook').query({ shape: 'canvas', context: ids.course }).expect(200);
    expect(page.text).toContain('M03 Feedback');
    expect(page.text).toContain('Amara Okafor');
    expect(page.text).toContain('8 / 10');
    expect(page.text).not.toContain('6 / 10');
    expect(page.text).toContain('2 score(s) received');
  });

  test('when a launch is requested with an unknown user, then the launch page shows an error page', async () => {
    h = await startHarness();
    const ids = seedIds('canvas');
    const res = await request(h.url).get('/dev/platform/launch').query({ shape: 'canvas', context: ids.course, user: 'ghost' }).expect(404);
    expect(res.text).toContain('No canvas user ghost');
  });

  test('when the tool sends the user back to the return URL, then its message is shown', async () => {
    h = await startHarness();
    const res = await request(h.url)
      .get('/dev/platform/canvas/return')
      .query({ lti_msg: 'Saved your progress', lti_errormsg: 'One thing failed' })
      .expect(200);
    expect(res.text).toContain('Saved your progress');
    expect(res.text).toContain('One thing failed');
  });

  test('when an unknown platform path is requested, then a JSON 404 answers', async () => {
    h = await startHarness({ register: false });
    const res = await request(h.url).get('/dev/platform/canvas/nothing').expect(404);
    expect((res.body as { error: { code: string } }).error.code).toBe('not_found');
  });
});
