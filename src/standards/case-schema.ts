import { z } from 'zod';

/**
 * 1EdTech CASE 1.1 (Competencies and Academic Standards Exchange) package, written from the
 * specification's information model for the parts CoachLTI produces and reads: required fields,
 * identifiers as UUIDs, URIs absolute, association types from the specification's enumeration.
 * Optional fields the specification allows are accepted; unknown extra fields are refused (strict)
 * so a typo in a field name fails the tests instead of producing a package nobody can read.
 */
const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i, 'identifier must be a UUID (RFC 4122)');

const absoluteUri = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URI');

/** ISO 8601 date-time with a time zone (the specification's DateTime). */
const dateTime = z.string().datetime({ offset: true });
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO 8601 date');

/** LinkURI: a reference to another CASE object. */
export const linkUriSchema = z.object({ title: z.string().min(1), identifier: uuid, uri: absoluteUri }).strict();
/** LinkGenURI: the same, used by associations (whose target may be outside the package). */
export const linkGenUriSchema = z
  .object({ title: z.string().min(1), identifier: z.string().min(1), uri: absoluteUri, targetType: z.string().optional() })
  .strict();

export const caseAssociationTypes = [
  'isChildOf',
  'isPeerOf',
  'isPartOf',
  'exactMatchOf',
  'precedes',
  'isRelatedTo',
  'replacedBy',
  'exemplar',
  'hasSkillLevel',
  'isTranslationOf',
] as const;

export const adoptionStatuses = ['Private Draft', 'Draft', 'Adopted', 'Deprecated'] as const;

export const cfDocumentSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    frameworkType: z.string().optional(),
    caseVersion: z.literal('1.1').optional(),
    creator: z.string().min(1),
    title: z.string().min(1),
    lastChangeDateTime: dateTime,
    officialSourceURL: absoluteUri.optional(),
    publisher: z.string().optional(),
    description: z.string().optional(),
    subject: z.array(z.string()).optional(),
    subjectURI: z.array(linkUriSchema).optional(),
    language: z.string().optional(),
    version: z.string().optional(),
    adoptionStatus: z.enum(adoptionStatuses).optional(),
    statusStartDate: date.optional(),
    statusEndDate: date.optional(),
    licenseURI: linkUriSchema.optional(),
    notes: z.string().optional(),
    CFPackageURI: linkUriSchema,
  })
  .strict();

export const cfItemSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    fullStatement: z.string().min(1),
    alternativeLabel: z.string().optional(),
    CFItemType: z.string().optional(),
    humanCodingScheme: z.string().optional(),
    listEnumeration: z.string().optional(),
    abbreviatedStatement: z.string().optional(),
    conceptKeywords: z.array(z.string()).optional(),
    conceptKeywordsURI: linkUriSchema.optional(),
    notes: z.string().optional(),
    subject: z.array(z.string()).optional(),
    subjectURI: z.array(linkUriSchema).optional(),
    language: z.string().optional(),
    educationLevel: z.array(z.string()).optional(),
    CFItemTypeURI: linkUriSchema.optional(),
    licenseURI: linkUriSchema.optional(),
    statusStartDate: date.optional(),
    statusEndDate: date.optional(),
    lastChangeDateTime: dateTime,
    CFDocumentURI: linkUriSchema,
  })
  .strict();

export const cfAssociationSchema = z
  .object({
    identifier: uuid,
    associationType: z.enum(caseAssociationTypes),
    sequenceNumber: z.number().int().optional(),
    uri: absoluteUri,
    originNodeURI: linkGenUriSchema,
    destinationNodeURI: linkGenUriSchema,
    CFAssociationGroupingURI: linkUriSchema.optional(),
    lastChangeDateTime: dateTime,
    notes: z.string().optional(),
    CFDocumentURI: linkUriSchema.optional(),
  })
  .strict();

export const cfItemTypeSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    title: z.string().min(1),
    description: z.string().min(1),
    hierarchyCode: z.string().min(1),
    typeCode: z.string().optional(),
    lastChangeDateTime: dateTime,
  })
  .strict();

export const cfDefinitionsSchema = z
  .object({
    CFConcepts: z.array(z.unknown()).optional(),
    CFSubjects: z.array(z.unknown()).optional(),
    CFLicenses: z.array(z.unknown()).optional(),
    CFItemTypes: z.array(cfItemTypeSchema).optional(),
    CFAssociationGroupings: z.array(z.unknown()).optional(),
  })
  .strict();

export const cfRubricCriterionLevelSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    description: z.string().optional(),
    quality: z.string().optional(),
    score: z.number().optional(),
    feedback: z.string().optional(),
    position: z.number().int().optional(),
    criterionId: uuid.optional(),
    lastChangeDateTime: dateTime,
  })
  .strict();

export const cfRubricCriterionSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    category: z.string().optional(),
    description: z.string().optional(),
    CFItemURI: linkUriSchema.optional(),
    weight: z.number().optional(),
    position: z.number().int().optional(),
    rubricId: uuid.optional(),
    lastChangeDateTime: dateTime,
    CFRubricCriterionLevels: z.array(cfRubricCriterionLevelSchema).optional(),
  })
  .strict();

export const cfRubricSchema = z
  .object({
    identifier: uuid,
    uri: absoluteUri,
    title: z.string().optional(),
    description: z.string().optional(),
    lastChangeDateTime: dateTime,
    CFRubricCriteria: z.array(cfRubricCriterionSchema).optional(),
  })
  .strict();

export const cfPackageSchema = z
  .object({
    CFDocument: cfDocumentSchema,
    CFItems: z.array(cfItemSchema).optional(),
    CFAssociations: z.array(cfAssociationSchema).optional(),
    CFDefinitions: cfDefinitionsSchema.optional(),
    CFRubrics: z.array(cfRubricSchema).optional(),
  })
  .strict()
  .superRefine((pkg, ctx) => {
    const ids = new Set<string>();
    const all: { identifier: string }[] = [
      pkg.CFDocument,
      ...(pkg.CFItems ?? []),
      ...(pkg.CFAssociations ?? []),
      ...(pkg.CFDefinitions?.CFItemTypes ?? []),
      ...(pkg.CFRubrics ?? []),
      ...(pkg.CFRubrics ?? []).flatMap((r) => r.CFRubricCriteria ?? []),
      ...(pkg.CFRubrics ?? []).flatMap((r) => (r.CFRubricCriteria ?? []).flatMap((c) => c.CFRubricCriterionLevels ?? [])),
    ];
    for (const { identifier } of all) {
      if (ids.has(identifier)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `identifier ${identifier} is used twice` });
      ids.add(identifier);
    }
    const nodes = new Set([pkg.CFDocument.identifier, ...(pkg.CFItems ?? []).map((i) => i.identifier)]);
    for (const a of pkg.CFAssociations ?? []) {
      if (a.associationType === 'isChildOf' && (!nodes.has(a.originNodeURI.identifier) || !nodes.has(a.destinationNodeURI.identifier)))
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `isChildOf association ${a.identifier} points outside the package` });
    }
    for (const item of pkg.CFItems ?? []) {
      if (item.CFDocumentURI.identifier !== pkg.CFDocument.identifier)
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `item ${item.identifier} belongs to another document` });
    }
  });

export type CfPackage = z.infer<typeof cfPackageSchema>;
export type CfDocument = z.infer<typeof cfDocumentSchema>;
export type CfItem = z.infer<typeof cfItemSchema>;
export type CfAssociation = z.infer<typeof cfAssociationSchema>;
export type CfItemType = z.infer<typeof cfItemTypeSchema>;
export type CfRubric = z.infer<typeof cfRubricSchema>;
export type LinkUri = z.infer<typeof linkUriSchema>;
