import type { FrameworkData } from '../competencies/framework-schema';
import type { FrameworkVersions } from './framework-versions';
import { proficiencyLevels } from './proficiency';
import {
  cfPackageSchema,
  type CfAssociation,
  type CfItem,
  type CfItemType,
  type CfPackage,
  type CfRubric,
  type LinkUri,
} from './case-schema';
import { uuidV5 } from './uuid';

/** Where each CASE object resolves on the tool (CASE 1.1 REST paths). */
export const casePathPrefix = '/ims/case/v1p1';
export const caseCollections = [
  'CFPackages',
  'CFDocuments',
  'CFItems',
  'CFAssociations',
  'CFItemTypes',
  'CFRubrics',
  'CFRubricCriteria',
  'CFRubricCriterionLevels',
] as const;
export type CaseCollection = (typeof caseCollections)[number];

export interface CaseContext {
  framework: FrameworkData;
  versions: FrameworkVersions;
  /** The tool's public base URL (TOOL_URL), without a trailing slash. */
  baseUrl: string;
}

export const caseCreator = 'Modified-Delphi expert panel on coaching competencies for medical education';
export const casePublisher = 'CoachLTI';

function uri(baseUrl: string, collection: CaseCollection, id: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${casePathPrefix}/${collection}/${id}`;
}

/** Notes of a competency: our summary, labelled as ours, then any note on where the name comes from. */
export function competencyNotes(label: string, summary: string, nameNote: string | undefined): string {
  return nameNote ? `${label}: ${summary}\n\nName: ${nameNote}` : `${label}: ${summary}`;
}

export function buildCasePackage({ framework, versions, baseUrl }: CaseContext): CfPackage {
  const v1 = versions.versions[0];
  const stamp = v1.lastChangeDateTime;
  const ns = framework.frameworkUuid;
  const docLink: LinkUri = { title: framework.title, identifier: ns, uri: uri(baseUrl, 'CFDocuments', ns) };

  const itemType = (key: 'Domain' | 'Competency', hierarchyCode: string, description: string): CfItemType => {
    const identifier = uuidV5(ns, `CFItemType:${key}`);
    return { identifier, uri: uri(baseUrl, 'CFItemTypes', identifier), title: key, description, hierarchyCode, lastChangeDateTime: stamp };
  };
  const domainType = itemType('Domain', '1', 'A domain of the coaching competency framework: a group of related competencies.');
  const competencyType = itemType('Competency', '2', 'A coaching competency of the framework.');
  const typeLink = (t: CfItemType): LinkUri => ({ title: t.title, identifier: t.identifier, uri: t.uri });

  const items: CfItem[] = [];
  const associations: CfAssociation[] = [];
  const childOf = (child: CfItem, parent: LinkUri, sequenceNumber: number): CfAssociation => {
    const identifier = uuidV5(ns, `isChildOf:${child.identifier}:${parent.identifier}`);
    return {
      identifier,
      associationType: 'isChildOf',
      sequenceNumber,
      uri: uri(baseUrl, 'CFAssociations', identifier),
      originNodeURI: { title: child.fullStatement, identifier: child.identifier, uri: child.uri },
      destinationNodeURI: { title: parent.title, identifier: parent.identifier, uri: parent.uri },
      lastChangeDateTime: stamp,
      CFDocumentURI: docLink,
    };
  };

  framework.domains.forEach((domain, domainIndex) => {
    const domainItem: CfItem = {
      identifier: domain.uuid,
      uri: uri(baseUrl, 'CFItems', domain.uuid),
      fullStatement: domain.name,
      CFItemType: domainType.title,
      CFItemTypeURI: typeLink(domainType),
      humanCodingScheme: domain.id,
      listEnumeration: String(domainIndex + 1),
      language: 'en',
      lastChangeDateTime: stamp,
      CFDocumentURI: docLink,
    };
    items.push(domainItem);
    associations.push(childOf(domainItem, docLink, domainIndex + 1));
    domain.competencies.forEach((competency, index) => {
      const item: CfItem = {
        identifier: competency.uuid,
        uri: uri(baseUrl, 'CFItems', competency.uuid),
        fullStatement: competency.name,
        CFItemType: competencyType.title,
        CFItemTypeURI: typeLink(competencyType),
        humanCodingScheme: competency.id,
        listEnumeration: String(index + 1),
        notes: competencyNotes(versions.localDescriptionLabel, competency.summary, v1.nameNotes[competency.id]),
        language: 'en',
        lastChangeDateTime: stamp,
        CFDocumentURI: docLink,
      };
      items.push(item);
      associations.push(childOf(item, { title: domain.name, identifier: domain.uuid, uri: domainItem.uri }, index + 1));
    });
  });

  const rubricId = uuidV5(ns, 'CFRubric:proficiency-levels');
  const rubric: CfRubric = {
    identifier: rubricId,
    uri: uri(baseUrl, 'CFRubrics', rubricId),
    title: 'Proficiency levels',
    description:
      'Four proficiency levels per competency (novice, developing, proficient, expert), reached by the competency score (0-100) CoachLTI computes; score = lowest score of the level.',
    lastChangeDateTime: stamp,
    CFRubricCriteria: items
      .filter((i) => i.CFItemType === competencyType.title)
      .map((item, position) => {
        const criterionId = uuidV5(ns, `CFRubricCriterion:${item.identifier}`);
        return {
          identifier: criterionId,
          uri: uri(baseUrl, 'CFRubricCriteria', criterionId),
          category: item.humanCodingScheme,
          description: item.fullStatement,
          CFItemURI: { title: item.fullStatement, identifier: item.identifier, uri: item.uri },
          weight: 1,
          position: position + 1,
          rubricId,
          lastChangeDateTime: stamp,
          CFRubricCriterionLevels: proficiencyLevels.map((level, levelIndex) => {
            const levelId = uuidV5(ns, `CFRubricCriterionLevel:${item.identifier}:${level.key}`);
            return {
              identifier: levelId,
              uri: uri(baseUrl, 'CFRubricCriterionLevels', levelId),
              description: level.description,
              quality: level.label,
              score: level.minScore,
              position: levelIndex + 1,
              criterionId,
              lastChangeDateTime: stamp,
            };
          }),
        };
      }),
  };

  return {
    CFDocument: {
      identifier: ns,
      uri: docLink.uri,
      caseVersion: '1.1',
      creator: caseCreator,
      title: framework.title,
      lastChangeDateTime: stamp,
      publisher: casePublisher,
      description: framework.source,
      language: 'en',
      version: '1',
      adoptionStatus: 'Adopted',
      notes: [framework.readingNote, `${labelSentence} "${versions.localDescriptionLabel}" are ours, not the study's.`]
        .filter(Boolean)
        .join('\n\n'),
      CFPackageURI: { title: framework.title, identifier: ns, uri: uri(baseUrl, 'CFPackages', ns) },
    },
    CFItems: items,
    CFAssociations: associations,
    CFDefinitions: { CFItemTypes: [domainType, competencyType] },
    CFRubrics: [rubric],
  };
}

/** Every object of the package by collection and identifier: what the resolvable URIs serve. */
export function indexCasePackage(pkg: CfPackage): Map<string, unknown> {
  const index = new Map<string, unknown>();
  const put = (collection: CaseCollection, id: string, value: unknown): void => {
    index.set(`${collection}/${id}`, value);
  };
  put('CFPackages', pkg.CFDocument.identifier, pkg);
  put('CFDocuments', pkg.CFDocument.identifier, pkg.CFDocument);
  for (const item of pkg.CFItems ?? []) put('CFItems', item.identifier, item);
  for (const a of pkg.CFAssociations ?? []) put('CFAssociations', a.identifier, a);
  for (const t of pkg.CFDefinitions?.CFItemTypes ?? []) put('CFItemTypes', t.identifier, t);
  for (const r of pkg.CFRubrics ?? []) {
    put('CFRubrics', r.identifier, r);
    for (const c of r.CFRubricCriteria ?? []) {
      put('CFRubricCriteria', c.identifier, c);
      for (const l of c.CFRubricCriterionLevels ?? []) put('CFRubricCriterionLevels', l.identifier, l);
    }
  }
  return index;
}

export class CaseImportError extends Error {}

const labelSentence = 'Competency notes starting';

function readingNoteOf(notes: string | undefined): string | undefined {
  const first = notes?.split('\n\n')[0];
  return first && !first.startsWith(labelSentence) ? first : undefined;
}

/**
 * Reads a CASE package back into the framework data shape: domains are the items that are children of
 * the document, competencies the children of a domain, both ordered by sequenceNumber. Our own package
 * read back gives the framework it came from.
 */
export function parseCasePackage(input: unknown, localDescriptionLabel: string): FrameworkData {
  const parsed = cfPackageSchema.safeParse(input);
  if (!parsed.success)
    throw new CaseImportError(`not a CASE 1.1 package: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const pkg = parsed.data;
  const docId = pkg.CFDocument.identifier;
  const items = new Map((pkg.CFItems ?? []).map((i) => [i.identifier, i]));
  const children = (parentId: string): CfItem[] =>
    (pkg.CFAssociations ?? [])
      .filter((a) => a.associationType === 'isChildOf' && a.destinationNodeURI.identifier === parentId)
      .sort((a, b) => (a.sequenceNumber ?? 0) - (b.sequenceNumber ?? 0))
      .map((a) => {
        const item = items.get(a.originNodeURI.identifier);
        if (!item) throw new CaseImportError(`association ${a.identifier} names a missing item`);
        return item;
      });
  const prefix = `${localDescriptionLabel}: `;
  const summaryOf = (item: CfItem): string => {
    const notes = item.notes ?? '';
    const text = notes.startsWith(prefix) ? notes.slice(prefix.length) : notes;
    return text.split('\n\nName: ')[0] ?? '';
  };
  const code = (item: CfItem): string => {
    if (!item.humanCodingScheme) throw new CaseImportError(`item ${item.identifier} has no humanCodingScheme`);
    return item.humanCodingScheme;
  };
  return {
    title: pkg.CFDocument.title,
    source: pkg.CFDocument.description ?? '',
    readingNote: readingNoteOf(pkg.CFDocument.notes),
    frameworkUuid: docId,
    domains: children(docId).map((domain) => ({
      id: code(domain),
      uuid: domain.identifier,
      name: domain.fullStatement,
      competencies: children(domain.identifier).map((c) => ({
        id: code(c),
        uuid: c.identifier,
        name: c.fullStatement,
        summary: summaryOf(c),
      })),
    })),
  };
}
