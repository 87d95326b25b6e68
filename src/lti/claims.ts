import { z } from 'zod';

/** Claim names from LTI Core 1.3, AGS 2.0, NRPS 2.0 and Deep Linking 2.0. */
export const claim = {
  messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
  version: 'https://purl.imsglobal.org/spec/lti/claim/version',
  deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
  targetLinkUri: 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri',
  resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
  roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
  context: 'https://purl.imsglobal.org/spec/lti/claim/context',
  toolPlatform: 'https://purl.imsglobal.org/spec/lti/claim/tool_platform',
  custom: 'https://purl.imsglobal.org/spec/lti/claim/custom',
  launchPresentation: 'https://purl.imsglobal.org/spec/lti/claim/launch_presentation',
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings',
} as const;

export const supportedMessageTypes = ['LtiResourceLinkRequest', 'LtiDeepLinkingRequest'] as const;

const agsClaimSchema = z.object({
  scope: z.array(z.string()).default([]),
  lineitems: z.string().url().optional(),
  lineitem: z.string().url().optional(),
});

const nrpsClaimSchema = z.object({
  context_memberships_url: z.string().url(),
  service_versions: z.array(z.string()).optional(),
});

const deepLinkingSettingsSchema = z.object({
  deep_link_return_url: z.string().url(),
  accept_types: z.array(z.string()).min(1),
  accept_presentation_document_targets: z.array(z.string()).optional(),
  accept_multiple: z.boolean().optional(),
  accept_lineitem: z.boolean().optional(),
  auto_create: z.boolean().optional(),
  title: z.string().optional(),
  text: z.string().optional(),
  data: z.string().optional(),
});

/** Custom parameters are strings by spec; some platforms send numbers or booleans. */
const customSchema = z.record(z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({});

/**
 * The id_token payload after signature checks. Unknown claims are kept out; known ones are typed.
 * Refusals name the claim so the LMS administrator can fix the configuration.
 */
export const idTokenClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: z.string().min(1, 'sub is empty').optional(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    email: z.string().optional(),
    [claim.messageType]: z.enum(supportedMessageTypes, { errorMap: () => ({ message: 'unsupported message type' }) }),
    [claim.version]: z.literal('1.3.0', { errorMap: () => ({ message: 'unsupported LTI version (1.3.0 required)' }) }),
    [claim.deploymentId]: z.string().min(1).max(255),
    [claim.targetLinkUri]: z.string().optional(),
    [claim.resourceLink]: z.object({ id: z.string().min(1), title: z.string().optional(), description: z.string().optional() }).optional(),
    [claim.roles]: z.array(z.string()),
    [claim.context]: z
      .object({ id: z.string().min(1), label: z.string().optional(), title: z.string().optional(), type: z.array(z.string()).optional() })
      .optional(),
    [claim.toolPlatform]: z
      .object({
        guid: z.string().optional(),
        name: z.string().optional(),
        product_family_code: z.string().optional(),
        version: z.string().optional(),
      })
      .optional(),
    [claim.custom]: customSchema.optional(),
    [claim.launchPresentation]: z
      .object({ document_target: z.string().optional(), return_url: z.string().optional(), locale: z.string().optional() })
      .optional(),
    [claim.ags]: agsClaimSchema.optional(),
    [claim.nrps]: nrpsClaimSchema.optional(),
    [claim.deepLinkingSettings]: deepLinkingSettingsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c[claim.messageType] === 'LtiResourceLinkRequest') {
      if (!c[claim.resourceLink])
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [claim.resourceLink], message: 'is required in a resource link launch' });
      if (!c.sub) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sub'], message: 'is required in a resource link launch' });
    }
    if (c[claim.messageType] === 'LtiDeepLinkingRequest' && !c[claim.deepLinkingSettings]) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [claim.deepLinkingSettings],
        message: 'is required in a deep linking request',
      });
    }
  });

export type IdTokenClaims = z.infer<typeof idTokenClaimsSchema>;

/** Everything the tool needs from one launch, in our own words. */
export interface LaunchContext {
  platform: { issuer: string; clientId: string; deploymentId: string; productFamily: string | undefined; name: string | undefined };
  messageType: (typeof supportedMessageTypes)[number];
  user: { sub: string; name: string; givenName: string | undefined; familyName: string | undefined; email: string | undefined };
  roles: string[];
  context: { id: string; label: string | undefined; title: string | undefined } | undefined;
  resourceLink: { id: string; title: string | undefined } | undefined;
  custom: Record<string, string>;
  ags: { scopes: string[]; lineItemsUrl: string | undefined; lineItemUrl: string | undefined } | undefined;
  nrps: { membershipsUrl: string } | undefined;
  deepLinking:
    | {
        returnUrl: string;
        acceptTypes: string[];
        acceptMultiple: boolean;
        /** undefined: the platform did not say (Deep Linking 2.0 §4.4.1), so a line item may be offered. */
        acceptLineItem: boolean | undefined;
        presentationTargets: string[];
        data: string | undefined;
        title: string | undefined;
      }
    | undefined;
  returnUrl: string | undefined;
  targetLinkUri: string | undefined;
}

export function toLaunchContext(c: IdTokenClaims, clientId: string): LaunchContext {
  const displayName = c.name || [c.given_name, c.family_name].filter(Boolean).join(' ') || c.email || `User ${c.sub?.slice(0, 8) ?? ''}`;
  const ags = c[claim.ags];
  const dl = c[claim.deepLinkingSettings];
  const ctx = c[claim.context];
  const link = c[claim.resourceLink];
  const platform = c[claim.toolPlatform];
  const nrps = c[claim.nrps];
  return {
    platform: {
      issuer: c.iss,
      clientId,
      deploymentId: c[claim.deploymentId],
      productFamily: platform?.product_family_code,
      name: platform?.name,
    },
    messageType: c[claim.messageType],
    user: { sub: c.sub ?? '', name: displayName.trim(), givenName: c.given_name, familyName: c.family_name, email: c.email },
    roles: c[claim.roles],
    context: ctx ? { id: ctx.id, label: ctx.label, title: ctx.title } : undefined,
    resourceLink: link ? { id: link.id, title: link.title } : undefined,
    custom: c[claim.custom] ?? {},
    ags: ags ? { scopes: ags.scope, lineItemsUrl: ags.lineitems, lineItemUrl: ags.lineitem } : undefined,
    nrps: nrps ? { membershipsUrl: nrps.context_memberships_url } : undefined,
    deepLinking: dl
      ? {
          returnUrl: dl.deep_link_return_url,
          acceptTypes: dl.accept_types,
          acceptMultiple: dl.accept_multiple ?? false,
          acceptLineItem: dl.accept_lineitem,
          presentationTargets: dl.accept_presentation_document_targets ?? [],
          data: dl.data,
          title: dl.title,
        }
      : undefined,
    returnUrl: c[claim.launchPresentation]?.return_url,
    targetLinkUri: c[claim.targetLinkUri],
  };
}

/** A claim's short name: `deep_linking_settings` for the full claim URI; anything odd in a key is not echoed. */
function claimPath(path: (string | number)[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      continue;
    }
    const short = segment.includes('/claim/') ? segment.slice(segment.lastIndexOf('/') + 1) : segment;
    // Keys inside `custom` come from the platform: print only plain identifiers.
    const safe = /^[A-Za-z0-9_-]{1,64}$/.test(short) ? short : '…';
    out += out ? `.${safe}` : safe;
  }
  return out || 'the token';
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/** The rule an issue broke, in words built from the schema only (never the received value). */
function ruleOf(issue: z.ZodIssue): string {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      return issue.received === 'undefined' ? 'is required' : `must be ${typeNames[issue.expected] ?? issue.expected}`;
    case z.ZodIssueCode.invalid_literal:
      return `must be ${JSON.stringify(issue.expected)}`;
    case z.ZodIssueCode.invalid_enum_value:
      return `must be one of ${issue.options.map(String).join(', ')}`;
    case z.ZodIssueCode.invalid_string:
      return issue.validation === 'url' ? 'must be an absolute URL' : 'is not in the required format';
    case z.ZodIssueCode.too_small:
      if (issue.type === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.type === 'array') return `must list at least ${issue.minimum} value${Number(issue.minimum) === 1 ? '' : 's'}`;
      return `must be at least ${issue.minimum}`;
    case z.ZodIssueCode.too_big:
      if (issue.type === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.type === 'array') return `must list at most ${issue.maximum} values`;
      return `must be at most ${issue.maximum}`;
    case z.ZodIssueCode.invalid_union:
      return 'must be a string, number or boolean';
    case z.ZodIssueCode.custom:
      return issue.message;
    default:
      return 'is invalid';
  }
}

/**
 * Why claims failed validation, for the refusal page and the log: the claim and the rule, e.g.
 * "deep_linking_settings.data must be a string". Up to three issues.
 */
export function describeClaimIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => `${claimPath(issue.path)} ${ruleOf(issue)}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${issues.join('; ')}${more}`;
}
