import request from 'supertest';
import { accessToken, allScopes, seedIds, startHarness, type Harness } from './support';

const nrpsScope = allScopes[4] ?? '';
const containerType = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';

interface Member {
  user_id: string;
  status: string;
  roles: string[];
  name?: string;
  email?: string;
  given_name?: string;
  family_name?: string;
  lti11_legacy_user_id?: string;
}

describe('dev platform: names and role provisioning services', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function page(path: string, bearer: string): Promise<request.Response> {
    return request(h.url)
      .get(path)
      .set('Authorization', `Bearer ${bearer}`)
      .set('Accept', containerType)
      .expect(200)
      .expect('Content-Type', /membershipcontainer\+json/);
  }

  test('when the membership is read with a limit, then it pages through every member with Link next headers', async () => {
    const ids = seedIds('canvas');
    const token = await accessToken(h, 'canvas', [nrpsScope]);
    const members: Member[] = [];
    let path: string | undefined = `/dev/platform/canvas/contexts/${ids.course}/memberships?limit=10`;
    let pages = 0;
    while (path) {
      const res = await page(path, token);
      const body = res.body as { context: { id: string; title: string }; members: Member[] };
      expect(body.context).toMatchObject({ id: ids.course, title: 'Coaching Skills 2026' });
      members.push(...body.members);
      pages += 1;
      const next = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
      path = next ? `${new URL(next).pathname}${new URL(next).search}` : undefined;
    }
    expect(pages).toBe(3);
    expect(members).toHaveLength(28);
    expect(new Set(members.map((m) => m.user_id)).size).toBe(28);
    expect(members.find((m) => m.user_id === ids.instructor)).toMatchObject({
      name: 'Dr. Priya Raman',
      given_name: 'Priya',
      family_name: 'Raman',
      email: 'priya.raman@example.edu',
      status: 'Active',
      roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
      lti11_legacy_user_id: expect.stringMatching(/^[0-9a-f]{40}$/) as unknown,
    });
    expect(members.find((m) => m.user_id === ids.inactiveLearner)?.status).toBe('Inactive');
    expect(members.find((m) => m.user_id === ids.ta)?.roles).toContain(
      'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant',
    );
    expect(members.some((m) => m.user_id === ids.admin)).toBe(false);
  });

  test('when the role filter is used, then only members with that context role come back', async () => {
    const ids = seedIds('moodle');
    const token = await accessToken(h, 'moodle', [nrpsScope]);
    const res = await page(`/dev/platform/moodle/contexts/${ids.otherCourse}/memberships?role=Instructor`, token);
    const members = (res.body as { members: Member[] }).members;
    // Moodle gives its non-editing teacher (our TA) the Instructor role, like editing teachers.
    expect(members.map((m) => m.name).sort()).toEqual(['Diego Fernández', 'Dr. Marcus Oyelaran', 'Dr. Priya Raman']);
    const full = await page(
      `/dev/platform/moodle/contexts/${ids.otherCourse}/memberships?role=${encodeURIComponent('http://purl.imsglobal.org/vocab/lis/v2/membership#Learner')}`,
      token,
    );
    expect((full.body as { members: Member[] }).members).toHaveLength(26);
  });

  test('when the token lacks the membership scope or is missing, then NRPS answers 403 or 401', async () => {
    const ids = seedIds('canvas');
    const path = `/dev/platform/canvas/contexts/${ids.course}/memberships`;
    await request(h.url).get(path).expect(401);
    const scoreOnly = await accessToken(h, 'canvas', [allScopes[3] ?? '']);
    await request(h.url).get(path).set('Authorization', `Bearer ${scoreOnly}`).expect(403);
  });

  test('when the tool registered without asking for name and email, then members carry ids and roles only', async () => {
    await h.close();
    h = await startHarness({ register: false });
    const body = h.tool.registrationBody({}, { claims: ['iss', 'sub'], 'https://canvas.instructure.com/lti/privacy_level': undefined });
    h.tool.registrationBody = () => body;
    await h.platform.registerWithTool();
    const ids = seedIds('moodle');
    const token = await accessToken(h, 'moodle', [nrpsScope]);
    const res = await page(`/dev/platform/moodle/contexts/${ids.course}/memberships?limit=1`, token);
    expect((res.body as { members: Member[] }).members).toEqual([
      { user_id: ids.instructor, status: 'Active', roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'] },
    ]);
  });
});
