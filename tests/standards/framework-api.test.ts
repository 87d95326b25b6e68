import request from 'supertest';
import { loadFrameworkFile } from '../../src/competencies/framework-schema';
import { cfPackageSchema, type CfPackage } from '../../src/standards/case-schema';
import { parseCsv } from '../../src/standards/csv';
import { startTestServer, type TestServer } from '../support/test-server';

describe('framework standards API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when GET /api/framework/case is requested, then a valid CASE 1.1 package with URIs on the tool URL is returned', async () => {
    const res = await request(server.url).get('/api/framework/case').expect(200).expect('Content-Type', /json/);
    const pkg = cfPackageSchema.parse(res.body);
    expect(pkg.CFItems).toHaveLength(17);
    expect(pkg.CFDocument.uri.startsWith(`${server.config.toolUrl}/ims/case/v1p1/CFDocuments/`)).toBe(true);
  });

  test('when every URI inside the package is requested, then each answers 200 with the very object it names', async () => {
    const pkg = (await request(server.url).get('/api/framework/case').expect(200)).body as CfPackage;
    const objects: { uri: string; identifier: string }[] = [
      pkg.CFDocument,
      ...(pkg.CFItems ?? []),
      ...(pkg.CFAssociations ?? []),
      ...(pkg.CFDefinitions?.CFItemTypes ?? []),
      ...(pkg.CFRubrics ?? []),
      ...(pkg.CFRubrics ?? []).flatMap((r) => r.CFRubricCriteria ?? []),
      ...(pkg.CFRubrics ?? []).flatMap((r) => (r.CFRubricCriteria ?? []).flatMap((c) => c.CFRubricCriterionLevels ?? [])),
    ];
    expect(objects).toHaveLength(1 + 17 + 17 + 2 + 1 + 13 + 52);
    for (const o of objects) {
      const path = new URL(o.uri).pathname;
      const res = await request(server.url).get(path).set('Accept', 'application/json').expect(200);
      expect(res.body).toEqual(o);
    }
    const whole = await request(server.url).get(new URL(pkg.CFDocument.CFPackageURI.uri).pathname).expect(200);
    expect(whole.body).toEqual(pkg);
  });

  test('when a CASE object that does not exist is requested, then 404 and nothing else', async () => {
    await request(server.url)
      .get('/ims/case/v1p1/CFItems/00000000-0000-4000-8000-000000000000')
      .set('Accept', 'application/json')
      .expect(404);
    await request(server.url)
      .get('/ims/case/v1p1/CFThings/621314cc-954c-4590-b697-83e91159d54a')
      .set('Accept', 'application/json')
      .expect(404);
    await request(server.url).get('/ims/case/v1p1/CFItems/not-a-uuid').set('Accept', 'application/json').expect(404);
  });

  test('when the Canvas and Moodle CSVs are downloaded, then they are attachments with 13 competencies each', async () => {
    const canvas = await request(server.url)
      .get('/api/framework/canvas.csv')
      .expect(200)
      .expect('Content-Type', /text\/csv/);
    expect(canvas.headers['content-disposition']).toContain('canvas-outcomes.csv');
    expect(parseCsv(canvas.text).filter((r) => r[1] === 'outcome')).toHaveLength(13);
    const moodle = await request(server.url)
      .get('/api/framework/moodle.csv')
      .expect(200)
      .expect('Content-Type', /text\/csv/);
    const ids = new Set(loadFrameworkFile().domains.flatMap((d) => d.competencies.map((c) => c.id)));
    expect(parseCsv(moodle.text).filter((r) => ids.has(r[1] ?? ''))).toHaveLength(13);
  });

  test('when the versions are requested, then the crosswalk to version 2 keeps the competency mapping unknown', async () => {
    const res = await request(server.url).get('/api/framework/versions').expect(200);
    const body = res.body as { crosswalk: { competencies: { to: string }[] } };
    expect(body.crosswalk.competencies).toHaveLength(13);
    expect(body.crosswalk.competencies.every((c) => c.to === 'unknown')).toBe(true);
  });
});
