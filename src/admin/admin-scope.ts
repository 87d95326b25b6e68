import { z } from 'zod';

/**
 * Platforms are tenants: a platform is an issuer + client id as registered (every Canvas instance shares
 * one issuer). An administrator is either global or scoped to named platforms; every admin query carries
 * the scope, so another tenant's ids simply do not exist for a scoped administrator.
 */
export interface PlatformKey {
  issuer: string;
  clientId: string;
}

export type AdminScope = { kind: 'global' } | { kind: 'platforms'; platforms: PlatformKey[] };

export const globalScope: AdminScope = Object.freeze({ kind: 'global' });

/** Nothing at all: what an unreadable or missing scope means (fail closed). */
export const emptyScope: AdminScope = Object.freeze({ kind: 'platforms', platforms: [] });

export function platformScope(...platforms: PlatformKey[]): AdminScope {
  return { kind: 'platforms', platforms: platforms.map((p) => ({ issuer: p.issuer, clientId: p.clientId })) };
}

/** Registering, activating and removing platforms is for global administrators only. */
export function canManagePlatforms(scope: AdminScope): boolean {
  return scope.kind === 'global';
}

export function scopeIncludes(scope: AdminScope, platform: PlatformKey): boolean {
  return scope.kind === 'global' || scope.platforms.some((p) => p.issuer === platform.issuer && p.clientId === platform.clientId);
}

/** The platforms a query must be restricted to, or undefined for "every platform". */
export function scopePlatforms(scope: AdminScope): PlatformKey[] | undefined {
  return scope.kind === 'global' ? undefined : scope.platforms;
}

/**
 * A MongoDB condition restricting documents to the platforms (fields `issuer` and `clientId` under
 * `prefix`), or undefined for no restriction. An empty list matches nothing.
 */
export function platformCondition(platforms: PlatformKey[] | undefined, prefix = ''): Record<string, unknown> | undefined {
  if (platforms === undefined) return undefined;
  if (platforms.length === 0) return { [`${prefix}issuer`]: { $in: [] } };
  return { $or: platforms.map((p) => ({ [`${prefix}issuer`]: p.issuer, [`${prefix}clientId`]: p.clientId })) };
}

export function platformLabel(platform: PlatformKey): string {
  return `${platform.issuer}#${platform.clientId}`;
}

export function describeScope(scope: AdminScope): string {
  if (scope.kind === 'global') return 'global (every platform)';
  if (scope.platforms.length === 0) return 'no platform';
  return `platforms: ${scope.platforms.map(platformLabel).join(', ')}`;
}

const issuerSchema = z
  .string()
  .min(1)
  .max(500)
  .refine((v) => {
    try {
      const url = new URL(v);
      return (url.protocol === 'https:' || url.protocol === 'http:') && !url.hash;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without a fragment');

const clientIdSchema = z
  .string()
  .min(1, 'is empty')
  .max(255, 'is too long')
  .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces');

export const platformKeySchema = z.object({ issuer: issuerSchema, clientId: clientIdSchema });

/**
 * `issuer#clientId`, e.g. `https://canvas.instructure.com#10000000000042`. An issuer never has a
 * fragment, so the first `#` separates the two.
 */
export function parsePlatformLabel(text: string): PlatformKey | { error: string } {
  const hash = text.indexOf('#');
  if (hash < 0) return { error: `"${text}" must be <issuer>#<client id>, e.g. https://canvas.instructure.com#10000000000042` };
  const parsed = platformKeySchema.safeParse({ issuer: text.slice(0, hash), clientId: text.slice(hash + 1) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `"${text}": ${issue?.path[0] === 'clientId' ? 'the client id' : 'the issuer'} ${issue?.message ?? 'is invalid'}` };
  }
  return parsed.data;
}

export const adminScopeSchema: z.ZodType<AdminScope> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('global') }),
  z.object({ kind: z.literal('platforms'), platforms: z.array(platformKeySchema).max(1000) }),
]);

/** A stored scope, or the empty scope when it cannot be read (fail closed). */
export function readScope(value: unknown): AdminScope {
  const parsed = adminScopeSchema.safeParse(value);
  if (!parsed.success) return emptyScope;
  return parsed.data.kind === 'global' ? globalScope : platformScope(...parsed.data.platforms);
}
