import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import framework from '../../src/competencies/framework-data.json';
import { defaultInstrumentFile, loadObservationInstruments } from '../../src/faculty/observation-instrument';
import { Browser, decodeHtml, parseForms } from '../support/browser';
import { launch, launchInput, seedIds } from '../support/lti-launch';
import { freePort, startTestServer, testDatabaseUri, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

const ids = framework.domains.flatMap((d) => d.competencies.map((c) => c.id));
const newExpertAnchor = 'Version two: the learner restates the agreement unprompted and checks it twice before closing.';

/** The shipped instrument archived as v1, and a version 2 with a rewritten C1.1 expert anchor as the current file. */
function versionTwo(): { file: string; archive: string; oldExpertAnchor: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'coachlti-instrument-'));
  const archive = path.join(dir, 'archive');
  mkdirSync(archive);
  copyFileSync(defaultInstrumentFile, path.join(archive, 'v1.yaml'));
  const data = parseYaml(readFileSync(defaultInstrumentFile, 'utf8')) as {
    version: number;
    competencies: { id: string; anchors: Record<string, string> }[];
  };
  const c11 = data.competencies.find((c) => c.id === 'C1.1')!;
  const oldExpertAnchor = c11.anchors.expert!;
  c11.anchors.expert = newExpertAnchor;
  data.version = 2;
  const file = path.join(dir, 'observation-instrument.yaml');
  writeFileSync(file, stringifyYaml(data));
  return { file, archive, oldExpertAnchor };
}

describe('observation instrument versions', () => {
  test('when the instrument is at version 2 with version 1 archived, then both load; an archive that is not older, or misnamed, is refused', () => {
    const { file, archive, oldExpertAnchor } = versionTwo();
    const loaded = loadObservationInstruments(ids, file, archive);
    expect(loaded.current.version).toBe(2);
    expect([...loaded.byVersion.keys()].sort()).toEqual([1, 2]);
    expect(loaded.byVersion.get(1)!.competencies.find((c) => c.id === 'C1.1')!.anchors.expert).toBe(oldExpertAnchor);
    expect(loaded.byVersion.get(2)!.competencies.find((c) => c.id === 'C1.1')!.anchors.expert).toBe(newExpertAnchor);

    copyFileSync(file, path.join(archive, 'v2.yaml'));
    expect(() => loadObservationInstruments(ids, file, archive)).toThrow(/not older than the current version 2/);
    const misnamed = versionTwo();
    copyFileSync(path.join(misnamed.archive, 'v1.yaml'), path.join(misnamed.archive, 'v3.yaml'));
    expect(() => loadObservationInstruments(ids, misnamed.file, misnamed.archive)).toThrow(/v3.yaml holds version 1/);
  });

  describe('when the instrument changes after observations were recorded', () => {
    const uri = testDatabaseUri('instrument');
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    test('then an old observation keeps its version, is shown with the anchor it was rated against and still counts in the scores; new observations use version 2', async () => {
      // Version 1 (the shipped instrument): faculty observe the coach at Expert on C1.1.
      // The same port for both servers: the built-in platform registered itself with this tool URL.
      const port = await freePort();
      const env = { MONGODB_URI: uri, PORT: String(port), TOOL_URL: `http://127.0.0.1:${port}` };
      server = await startTestServer(env);
      const coachIds = seedIds('canvas', 'coach', 0);
      await launch(server, new Browser(), launchInput('canvas', 'coach'));
      const faculty = new Browser();
      const course = await launch(server, faculty, launchInput('canvas', 'faculty'));
      const db = server.connection.db!;
      const user = (await db.collection('users').findOne({ sub: coachIds.userId }))!;
      const coachUrl = new URL(`/course/coaches/${user._id.toHexString()}`, course.url).toString();
      const formPage = await faculty.get(`${coachUrl}/observations/new`);
      expect(formPage.text).toContain('version 1');
      const form = parseForms(formPage.text, formPage.url).find((f) => f.action.endsWith('/observations'))!;
      const saved = await faculty.post(form.action, {
        ...form.fields,
        observedOn: '2026-11-20',
        setting: 'live',
        duration: '30',
        'level-C1.1': 'expert',
        narrative: 'Clear agreement at the start.',
      });
      expect(saved.status).toBe(303);
      const v1 = parseYaml(readFileSync(defaultInstrumentFile, 'utf8')) as {
        competencies: { id: string; anchors: Record<string, string> }[];
      };
      const v1Anchor = v1.competencies.find((c) => c.id === 'C1.1')!.anchors.expert!;
      const scoresUnderV1 = (await db.collection('competency_scores').findOne({ userId: user._id }))!.scores;
      await server.stop();

      // Version 2 ships (C1.1's expert anchor rewritten; version 1 archived); the same database.
      const { file, archive } = versionTwo();
      server = await startTestServer(env, { tuning: { observationInstrumentFile: file, observationInstrumentArchive: archive } });
      const faculty2 = new Browser();
      const course2 = await launch(server, faculty2, launchInput('canvas', 'faculty'));
      const page = decodeHtml((await faculty2.get(new URL(new URL(coachUrl).pathname, course2.url).toString())).text);
      expect(page).toContain('instrument version 1: C1.1 Expert');
      expect(page).toContain(`C1.1 Expert: ${v1Anchor}`);
      expect(page).not.toContain(newExpertAnchor);
      const stored = (await server.connection.db!.collection('observations').findOne({ userId: user._id }))!;
      expect(stored.instrumentVersion).toBe(1);

      // Still scorable: recomputing under version 2 gives the same scores, the observation among the evidence.
      const courseDoc = (await server.connection.db!.collection('courses').findOne({ contextId: coachIds.contextId }))!;
      const snapshot = await server.assessment.recompute(
        { userId: user._id.toHexString(), courseId: courseDoc._id.toHexString() },
        { kind: 'resync' },
      );
      expect(snapshot).not.toBeNull();
      const rescored = (await server.connection.db!.collection('competency_scores').findOne({ userId: user._id }))!.scores as {
        competencyId: string;
        evidence: { kinds: string[] };
      }[];
      expect(rescored).toEqual(scoresUnderV1);
      expect(rescored.find((s) => s.competencyId === 'C1.1')!.evidence.kinds).toContain('observation');

      // The form now rates against version 2, and a new observation records it.
      const form2Page = await faculty2.get(new URL(`${new URL(coachUrl).pathname}/observations/new`, course2.url).toString());
      expect(decodeHtml(form2Page.text)).toContain(newExpertAnchor);
      const form2 = parseForms(form2Page.text, form2Page.url).find((f) => f.action.endsWith('/observations'))!;
      await faculty2.post(form2.action, {
        ...form2.fields,
        observedOn: '2026-11-21',
        setting: 'recorded',
        duration: '20',
        'level-C1.1': 'expert',
        narrative: 'Again clear.',
      });
      const versions = (await server.connection.db!.collection('observations').find({ userId: user._id }).toArray()).map(
        (o) => o.instrumentVersion,
      );
      expect(versions.sort()).toEqual([1, 2]);
      const after = decodeHtml((await faculty2.get(new URL(new URL(coachUrl).pathname, course2.url).toString())).text);
      expect(after).toContain(`C1.1 Expert: ${newExpertAnchor}`);
      expect(after).toContain(`C1.1 Expert: ${v1Anchor}`);
    });
  });
});
