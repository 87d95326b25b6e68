import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ToolRole } from './roles';

/**
 * The launch-scoped token ("launch" in URLs, like ltijs's `ltik`): one per LTI launch, sealed with
 * AES-256-GCM under a key derived from LTI_KEY, so it is opaque, unforgeable and carries its own expiry.
 * It holds the launch context (who, which platform, course and role) and that context's CSRF secret, so it
 * authenticates a request on its own when the browser sends no cookie (third-party cookies blocked), with no
 * database read.
 */

/** What a launch leaves for the pages of its context: who, where, in which role. Plain data, no LMS tokens. */
export interface LaunchSession {
  userId: string;
  userName: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  view: ToolRole;
  isLearner: boolean;
  /** A teaching assistant: may rate and observe, may not change course settings (absent in older sessions: false). */
  teachingAssistant?: boolean;
  courseId: string | undefined;
  courseTitle: string | undefined;
  resourceLinkId: string | undefined;
  moduleId: string | undefined;
  deepLinking:
    | {
        returnUrl: string;
        data: string | undefined;
        acceptMultiple: boolean;
        title: string | undefined;
        /** What the platform accepts back (absent in sessions from before these were kept: the defaults apply). */
        acceptTypes?: string[];
        acceptLineItem?: boolean;
        presentationTargets?: string[];
      }
    | undefined;
}

/** A launch context as the request sees it: the context, its id, its CSRF secret and its expiry. */
export interface LaunchTicket {
  /** Random launch id: keys the context in a session. */
  lid: string;
  /** Per-context CSRF secret (forms of this context carry it; independent of any cookie). */
  csrf: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  context: LaunchSession;
}

/** A launch context lives as long as the session did: 8 hours (renewed on use, see `renewIfOld`). */
export const launchLifetimeSeconds = 8 * 3600;

const optional = <T extends z.ZodTypeAny>(schema: T) => schema.optional();
const contextSchema = z.object({
  userId: z.string(),
  userName: z.string(),
  issuer: z.string(),
  clientId: z.string(),
  deploymentId: z.string(),
  view: z.enum(['learner', 'instructor', 'admin']),
  isLearner: z.boolean(),
  teachingAssistant: optional(z.boolean()),
  courseId: optional(z.string()),
  courseTitle: optional(z.string()),
  resourceLinkId: optional(z.string()),
  moduleId: optional(z.string()),
  deepLinking: optional(
    z.object({
      returnUrl: z.string(),
      data: optional(z.string()),
      acceptMultiple: z.boolean(),
      title: optional(z.string()),
      acceptTypes: optional(z.array(z.string())),
      acceptLineItem: optional(z.boolean()),
      presentationTargets: optional(z.array(z.string())),
    }),
  ),
});
const ticketSchema = z.object({ v: z.literal(1), lid: z.string().min(16), csrf: z.string().min(16), exp: z.number(), c: contextSchema });

export type OpenResult = { ok: true; ticket: LaunchTicket } | { ok: false; reason: 'invalid' | 'expired' };

export interface LaunchTokens {
  /** A new launch context: fresh id and CSRF secret. */
  issue(context: LaunchSession, nowSeconds?: number): { ticket: LaunchTicket; token: string };
  /** The same context with a later expiry (same id and secret). */
  seal(ticket: LaunchTicket): string;
  open(token: string, nowSeconds?: number): OpenResult;
}

const tokenPattern = /^[A-Za-z0-9_-]{40,8000}$/;

export function createLaunchTokens(secret: string): LaunchTokens {
  const key = Buffer.from(hkdfSync('sha256', secret, 'coachlti', 'launch-context-token v1', 32));
  const seal = (ticket: LaunchTicket): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const plain = JSON.stringify({ v: 1, lid: ticket.lid, csrf: ticket.csrf, exp: ticket.exp, c: ticket.context });
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  };
  return {
    issue(context, nowSeconds = Date.now() / 1000) {
      const ticket: LaunchTicket = {
        lid: randomBytes(16).toString('base64url'),
        csrf: randomBytes(24).toString('base64url'),
        exp: Math.floor(nowSeconds) + launchLifetimeSeconds,
        context,
      };
      return { ticket, token: seal(ticket) };
    },
    seal,
    open(token, nowSeconds = Date.now() / 1000) {
      if (!tokenPattern.test(token)) return { ok: false, reason: 'invalid' };
      const raw = Buffer.from(token, 'base64url');
      if (raw.length < 29) return { ok: false, reason: 'invalid' };
      let parsed: z.infer<typeof ticketSchema>;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
        const result = ticketSchema.safeParse(JSON.parse(plain));
        if (!result.success) return { ok: false, reason: 'invalid' };
        parsed = result.data;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (parsed.exp <= nowSeconds) return { ok: false, reason: 'expired' };
      const c = parsed.c;
      const context: LaunchSession = {
        ...c,
        courseId: c.courseId,
        courseTitle: c.courseTitle,
        resourceLinkId: c.resourceLinkId,
        moduleId: c.moduleId,
        deepLinking: c.deepLinking ? { ...c.deepLinking, data: c.deepLinking.data, title: c.deepLinking.title } : undefined,
      };
      return { ok: true, ticket: { lid: parsed.lid, csrf: parsed.csrf, exp: parsed.exp, context } };
    },
  };
}
