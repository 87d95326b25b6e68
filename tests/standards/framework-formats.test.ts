import { loadFrameworkFile, type FrameworkData } from '../../src/competencies/framework-schema';
import { buildCasePackage, parseCasePackage } from '../../src/standards/case-package';
import { caseAssociationTypes, cfPackageSchema, type CfPackage } from '../../src/standards/case-schema';
import { canvasHeader, canvasOutcomesCsv, frameworkFromCanvasRows, parseCanvasOutcomesCsv } from '../../src/standards/canvas-outcomes';
import { parseCsv, toCsv } from '../../src/standards/csv';
import { exportFramework, VersionUnavailableError } from '../../src/standards/framework-export';
import { crosswalkProblems, frameworkVersionsSchema, loadFrameworkVersions } from '../../src/standards/framework-versions';
import { frameworkFromMoodleRows, moodleFrameworkCsv, moodleHeader, parseMoodleFrameworkCsv } from '../../src/standards/moodle-framework';
import { uuidV5 } from '../../src/standards/uuid';

const framework = loadFrameworkFile();
const versions = loadFrameworkVersions();
const baseUrl = 'https://coach.example.edu';
const label = versions.localDescriptionLabel;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** The CSV formats have no place for the reading note; everything else must come back. */
const withoutReadingNote: FrameworkData = { ...framework };
delete withoutReadingNote.readingNote;

describe('CASE 1.1 package', () => {
  const pkg = buildCasePackage({ framework, versions, baseUrl });

  test('when the framework is exported, then the package validates against the CASE 1.1 schema', () => {
    const result = cfPackageSchema.safeParse(pkg);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });

  test('when the package is built, then it holds 4 domain and 13 competency items with the data file UUIDs and C-ids as humanCodingScheme', () => {
    const items = pkg.CFItems ?? [];
    expect(items.filter((i) => i.CFItemType === 'Domain').map((i) => [i.humanCodingScheme, i.identifier])).toEqual(
      framework.domains.map((d) => [d.id, d.uuid]),
    );
    expect(items.filter((i) => i.CFItemType === 'Competency').map((i) => [i.humanCodingScheme, i.identifier, i.fullStatement])).toEqual(
      framework.domains.flatMap((d) => d.competencies.map((c) => [c.id, c.uuid, c.name])),
    );
    expect(pkg.CFDocument.identifier).toBe(framework.frameworkUuid);
  });

  test('when the package is built, then every domain is isChildOf the document and every competency isChildOf its domain, numbered in order', () => {
    const assoc = pkg.CFAssociations ?? [];
    expect(assoc).toHaveLength(17);
    expect(assoc.every((a) => a.associationType === 'isChildOf')).toBe(true);
    const domainLinks = assoc.filter((a) => a.destinationNodeURI.identifier === framework.frameworkUuid);
    expect(domainLinks.map((a) => [a.originNodeURI.identifier, a.sequenceNumber])).toEqual(
      framework.domains.map((d, i) => [d.uuid, i + 1]),
    );
    const d2 = framework.domains[1];
    expect(
      assoc.filter((a) => a.destinationNodeURI.identifier === d2?.uuid).map((a) => [a.originNodeURI.identifier, a.sequenceNumber]),
    ).toEqual(d2?.competencies.map((c, i) => [c.uuid, i + 1]));
  });

  test('when the package is built, then every URI is absolute on the tool base URL and ends in the object identifier', () => {
    const objects = [
      pkg.CFDocument,
      ...(pkg.CFItems ?? []),
      ...(pkg.CFAssociations ?? []),
      ...(pkg.CFDefinitions?.CFItemTypes ?? []),
      ...(pkg.CFRubrics ?? []),
    ];
    for (const o of objects) expect(o.uri).toBe(`${baseUrl}/ims/case/v1p1/${o.uri.split('/').slice(-2, -1)[0] ?? ''}/${o.identifier}`);
  });

  test('when the package is built, then CFDefinitions hold the Domain and Competency item types and the rubric has the four levels per competency', () => {
    expect(pkg.CFDefinitions?.CFItemTypes?.map((t) => [t.title, t.hierarchyCode])).toEqual([
      ['Domain', '1'],
      ['Competency', '2'],
    ]);
    const criteria = pkg.CFRubrics?.[0]?.CFRubricCriteria ?? [];
    expect(criteria).toHaveLength(13);
    expect(criteria[0]?.CFRubricCriterionLevels?.map((l) => [l.quality, l.score])).toEqual([
      ['Novice', 0],
      ['Developing', 40],
      ['Proficient', 65],
      ['Expert', 85],
    ]);
    expect(criteria[0]?.CFItemURI?.identifier).toBe(framework.domains[0]?.competencies[0]?.uuid);
  });

  test('when our summaries are exported, then they are labelled as local descriptions and the split C4 names carry their note', () => {
    const c11 = pkg.CFItems?.find((i) => i.humanCodingScheme === 'C1.1');
    expect(c11?.notes).toBe(`${label}: ${framework.domains[0]?.competencies[0]?.summary ?? ''}`);
    expect(c11?.fullStatement).toBe('Establishing the coaching agreement');
    expect(pkg.CFItems?.find((i) => i.humanCodingScheme === 'C4.1')?.notes).toContain('Name: The abstract lists one phrase for domain 4');
  });

  test('when the package is built twice, then it is identical (stable identifiers and timestamps)', () => {
    expect(buildCasePackage({ framework, versions, baseUrl })).toEqual(pkg);
    expect(uuidV5(framework.frameworkUuid, 'x')).toBe(uuidV5(framework.frameworkUuid, 'x'));
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  test('when our own package is re-imported, then the framework and a re-export are unchanged (round trip)', () => {
    const imported = parseCasePackage(clone(pkg), label);
    expect(imported).toEqual(framework);
    expect(buildCasePackage({ framework: imported, versions, baseUrl })).toEqual(pkg);
  });

  const broken: [string, (p: CfPackage) => void][] = [
    [
      'an item without fullStatement',
      (p) => delete (p.CFItems?.[0] as Partial<CfPackage['CFDocument']> & { fullStatement?: string }).fullStatement,
    ],
    ['a document identifier that is not a UUID', (p) => void (p.CFDocument.identifier = 'D1')],
    ['a relative item URI', (p) => void ((p.CFItems ?? [])[0]!.uri = '/ims/case/v1p1/CFItems/x')],
    [
      'an unknown association type',
      (p) => void (((p.CFAssociations ?? [])[0] as { associationType: string }).associationType = 'isParentOf'),
    ],
    ['a misspelt field', (p) => void ((p.CFDocument as Record<string, unknown>).lastChangeDate = '2026-01-01')],
    ['a missing lastChangeDateTime', (p) => delete (p.CFDocument as Partial<CfPackage['CFDocument']>).lastChangeDateTime],
    [
      'an isChildOf pointing outside the package',
      (p) => void ((p.CFAssociations ?? [])[0]!.destinationNodeURI.identifier = '00000000-0000-4000-8000-000000000000'),
    ],
  ];
  test.each(broken)('when a package has %s, then the schema refuses it', (_name, mutate) => {
    const copy = clone(pkg);
    mutate(copy);
    expect(cfPackageSchema.safeParse(copy).success).toBe(false);
  });

  test('when the association types are listed, then they are those of CASE 1.1', () => {
    expect([...caseAssociationTypes].sort()).toEqual(
      [
        'exactMatchOf',
        'exemplar',
        'hasSkillLevel',
        'isChildOf',
        'isPartOf',
        'isPeerOf',
        'isRelatedTo',
        'isTranslationOf',
        'precedes',
        'replacedBy',
      ].sort(),
    );
  });
});

describe('CSV reader', () => {
  test('when fields hold commas, quotes and line breaks, then writing and reading gives them back', () => {
    const rows = [
      ['a', 'b,c', 'say "hi"'],
      ['line\nbreak', '', 'x\r\ny'],
    ];
    expect(parseCsv(toCsv(rows))).toEqual(rows);
    expect(parseCsv('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  test('when a quote is left open or text follows a closing quote, then reading fails', () => {
    expect(() => parseCsv('"abc')).toThrow('unterminated');
    expect(() => parseCsv('"a"b,c')).toThrow('closing quote');
  });
});

describe('Canvas outcomes CSV', () => {
  const csv = canvasOutcomesCsv(framework, versions);
  const rows = parseCsv(csv);

  test("when exported, then the header is Canvas's columns with ratings last (points/description pairs, blank headers after 'ratings')", () => {
    expect(rows[0]).toEqual([
      'vendor_guid',
      'object_type',
      'title',
      'description',
      'display_name',
      'calculation_method',
      'calculation_int',
      'workflow_state',
      'parent_guids',
      'mastery_points',
      'ratings',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
    ]);
    expect(canvasHeader).toEqual(rows[0]);
    expect(rows.every((r) => r.length === 18)).toBe(true);
  });

  test('when exported, then there is one root group, 4 domain groups and 13 outcomes with mastery 65 and ratings in decreasing points', () => {
    const body = rows.slice(1);
    expect(body.filter((r) => r[1] === 'group')).toHaveLength(5);
    const outcomes = body.filter((r) => r[1] === 'outcome');
    expect(outcomes).toHaveLength(13);
    const c22 = outcomes.find((r) => r[4] === 'C2.2');
    expect(c22).toEqual([
      'ba7c513e-1196-4457-8126-bdc7f11d733c',
      'outcome',
      'C2.2 Emotional intelligence',
      `${label}: Recognises and responds to own and coachee emotions constructively.`,
      'C2.2',
      'latest',
      '',
      'active',
      '9d2a6647-87f8-49a6-bc69-01d18b686bcc',
      '65',
      '85',
      'Expert',
      '65',
      'Proficient',
      '40',
      'Developing',
      '0',
      'Novice',
    ]);
    expect(body.filter((r) => r[1] === 'group').every((r) => r[5] === '' && r[9] === '' && r.slice(10).every((x) => x === ''))).toBe(true);
    expect(body.every((r) => !(r[0] ?? ' ').includes(' '))).toBe(true);
  });

  test('when our Canvas CSV is read back, then the framework and a re-export are unchanged (round trip)', () => {
    const parsed = parseCanvasOutcomesCsv(csv);
    expect(parsed.find((r) => r.displayName === 'C1.1')?.ratings).toEqual([
      { points: 85, description: 'Expert' },
      { points: 65, description: 'Proficient' },
      { points: 40, description: 'Developing' },
      { points: 0, description: 'Novice' },
    ]);
    const back = frameworkFromCanvasRows(parsed, label);
    expect(back).toEqual(withoutReadingNote);
    expect(canvasOutcomesCsv(back, versions)).toBe(csv);
  });
});

describe('Moodle competency framework CSV', () => {
  const csv = moodleFrameworkCsv(framework, versions);
  const rows = parseCsv(csv);

  test("when exported, then the header is tool_lpimportcsv's 14 columns in its order", () => {
    expect(rows[0]).toEqual([
      'Parent ID number',
      'ID number',
      'Short name',
      'Description',
      'Description format',
      'Scale values',
      'Scale configuration',
      'Rule type (optional)',
      'Rule outcome (optional)',
      'Rule config (optional)',
      'Cross-referenced competency ID numbers',
      'Exported ID (optional)',
      'Is framework',
      'Taxonomy',
    ]);
    expect([...moodleHeader]).toEqual(rows[0]);
    expect(rows.every((r) => r.length === 14)).toBe(true);
  });

  test('when exported, then the framework row carries the four-level scale with Proficient as default and Proficient and Expert proficient', () => {
    const fw = rows[1] ?? [];
    expect(fw[12]).toBe('1');
    expect(fw[5]).toBe('Novice,Developing,Proficient,Expert');
    expect(JSON.parse(fw[6] ?? '')).toEqual([
      { scaleid: '0' },
      { id: 1, scaledefault: 0, proficient: 0 },
      { id: 2, scaledefault: 0, proficient: 0 },
      { id: 3, scaledefault: 1, proficient: 1 },
      { id: 4, scaledefault: 0, proficient: 1 },
    ]);
    expect(fw[13]).toBe('domain,competency');
  });

  test('when exported, then competencies have the C-id as ID number and their domain as parent, domains have no parent', () => {
    const body = rows.slice(2);
    expect(body).toHaveLength(17);
    expect(body.filter((r) => r[0] === '').map((r) => r[1])).toEqual(['D1', 'D2', 'D3', 'D4']);
    expect(body.find((r) => r[1] === 'C3.2')?.slice(0, 5)).toEqual([
      'D3',
      'C3.2',
      'Facilitating coachee well-being and professional fulfillment',
      `${label}: Supports well-being, resilience and professional identity formation, and knows when to refer.`,
      '2',
    ]);
  });

  test('when our Moodle CSV is read back, then the framework and a re-export are unchanged (round trip)', () => {
    const back = frameworkFromMoodleRows(parseMoodleFrameworkCsv(csv), label);
    expect(back).toEqual(withoutReadingNote);
    expect(moodleFrameworkCsv(back, versions)).toBe(csv);
  });

  test('when a CSV has other columns, then the Moodle reader refuses it', () => {
    expect(() => parseMoodleFrameworkCsv('ID number,Short name\nC1,x\n')).toThrow('header must be');
  });
});

describe('framework versions and crosswalk', () => {
  test('when the crosswalk is checked against version 1, then every competency and domain appears exactly once', () => {
    expect(crosswalkProblems(versions, framework)).toEqual([]);
  });

  test('when version 2 is described, then it has 5 sourced domain names, 15 competencies declared and their names kept unknown', () => {
    const v2 = versions.versions[1];
    expect(v2.domains.map((d) => d.name)).toEqual([
      'Coaching process and structure',
      'Relational skills',
      'Coaching skills',
      'Coaching theories and models',
      'Coach development',
    ]);
    expect(v2.competencyCount).toBe(15);
    expect(v2.competencies).toBe('unknown');
    expect(v2.source).toContain('doi:10.1080/0142159X.2021.1947479');
    expect(versions.crosswalk.competencies.every((r) => r.to === 'unknown')).toBe(true);
  });

  test('when a crosswalk invents a version 2 competency that is not listed, then the schema refuses it', () => {
    const copy = clone(versions);
    copy.crosswalk.competencies[0] = { from: 'C1.1', to: 'V2-C1.1' };
    expect(frameworkVersionsSchema.safeParse(copy).success).toBe(false);
  });

  test('when version 2 is claimed defined while its competencies are unknown, then the schema refuses it', () => {
    const copy = clone(versions);
    copy.versions[1].status = 'defined';
    expect(frameworkVersionsSchema.safeParse(copy).success).toBe(false);
  });

  test('when a crosswalk misses a competency, then the problems name it', () => {
    const copy = clone(versions);
    copy.crosswalk.competencies = copy.crosswalk.competencies.filter((r) => r.from !== 'C2.3');
    expect(crosswalkProblems(copy, framework)).toEqual(['C2.3 appears 0 times in the crosswalk']);
  });

  test('when version 2 is asked for, then the export refuses with the reason and names the source', () => {
    expect(() => exportFramework({ framework, versions, baseUrl }, 'case', 2)).toThrow(VersionUnavailableError);
    expect(() => exportFramework({ framework, versions, baseUrl }, 'canvas', 2)).toThrow(/competency names .* are not/);
  });

  test('when a renamed framework is exported, then all three formats carry the new name (one source)', () => {
    const renamed: FrameworkData = clone(framework);
    renamed.domains[0]!.competencies[0]!.name = 'Contracting with the coachee';
    const input = { framework: renamed, versions, baseUrl };
    expect(exportFramework(input, 'case').body).toContain('"fullStatement": "Contracting with the coachee"');
    expect(exportFramework(input, 'canvas').body).toContain('C1.1 Contracting with the coachee');
    expect(exportFramework(input, 'moodle').body).toContain('D1,C1.1,Contracting with the coachee');
  });
});
