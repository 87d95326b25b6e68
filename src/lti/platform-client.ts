import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { Logger } from '../shared/logger';
import { userAgent } from './jwks-cache';
import type { LtiProvider } from './ltijs-adapter';

export const scopes = {
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineItemReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  resultReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
} as const;

export class PlatformRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly bodyExcerpt: string,
  ) {
    super(message);
    this.name = 'PlatformRequestError';
  }
}

/**
 * The course's launches did not grant an AGS scope the operation needs (the `scope` list of the AGS claim):
 * nothing is asked of the LMS, and the caller reports a configuration problem instead of retrying.
 */
export class ScopeNotGrantedError extends Error {
  constructor(readonly missing: string[]) {
    super(`the LMS did not grant ${missing.map(scopeLabel).join(', ')}`);
    this.name = 'ScopeNotGrantedError';
  }
}

/** "lineitem scope" from the scope URI, for people. */
export function scopeLabel(scope: string): string {
  return `${scope.slice(scope.lastIndexOf('/') + 1)} scope`;
}

/** Where a platform may restrict AGS: the scopes granted in the course's launches (undefined: not known, not checked). */
export interface PlatformTarget {
  issuer: string;
  clientId: string;
  agsScopes?: readonly string[];
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().default(3600),
  scope: z.string().optional(),
});

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface PlatformClientDeps {
  provider: Pick<LtiProvider, 'getPlatform' | 'signingKey'>;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  /** Refresh this long before the platform says the token expires. */
  marginMs?: number;
  timeoutMs?: number;
}

/**
 * Talks to a platform's services (token endpoint, AGS, NRPS) on behalf of the tool.
 * Access tokens are cached per platform and scope set until `expires_in` minus a margin, and fetched
 * by one request however many callers need one at the same moment (single flight).
 */
export function createPlatformClient(deps: PlatformClientDeps) {
  const fetchImpl = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const margin = deps.marginMs ?? 60_000;
  const timeoutMs = deps.timeoutMs ?? 15_000;
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<string>>();

  async function requestToken(issuer: string, clientId: string, scopeList: string[]): Promise<CachedToken> {
    const platform = await deps.provider.getPlatform(issuer, clientId);
    const signing = await deps.provider.signingKey(issuer, clientId);
    if (!platform || !signing) throw new PlatformRequestError(`platform ${issuer} (${clientId}) is not registered`, undefined, '');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(platform.tokenUrl)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(signing.key);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      scope: scopeList.join(' '),
    });
    const started = now();
    const res = await fetchImpl(platform.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', 'User-Agent': userAgent },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new PlatformRequestError(`token request failed with HTTP ${res.status}`, res.status, text.slice(0, 500));
    const parsed = tokenResponseSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new PlatformRequestError('token response is not an OAuth 2 access token', res.status, text.slice(0, 500));
    deps.logger.debug({ issuer, clientId, scopes: scopeList, expiresIn: parsed.data.expires_in }, 'platform access token obtained');
    return { token: parsed.data.access_token, expiresAt: started + parsed.data.expires_in * 1000 - margin };
  }

  async function accessToken(issuer: string, clientId: string, scopeList: readonly string[]): Promise<string> {
    return (await token(issuer, clientId, scopeList)).token;
  }

  /** The token and whether it was fetched for this call (a refusal with a fresh token is not a stale-token problem). */
  async function token(issuer: string, clientId: string, scopeList: readonly string[]): Promise<{ token: string; fresh: boolean }> {
    const sorted = [...new Set(scopeList)].sort();
    const key = `${issuer}\n${clientId}\n${sorted.join(' ')}`;
    const cached = cache.get(key);
    if (cached && cached.expiresAt > now()) return { token: cached.token, fresh: false };
    return { token: await fetchToken(key, issuer, clientId, sorted), fresh: true };
  }

  function fetchToken(key: string, issuer: string, clientId: string, sorted: string[]): Promise<string> {
    let pending = inFlight.get(key);
    if (!pending) {
      pending = requestToken(issuer, clientId, sorted)
        .then((t) => {
          cache.set(key, t);
          return t.token;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  function invalidate(issuer: string, clientId: string, scopeList: readonly string[]): void {
    cache.delete(`${issuer}\n${clientId}\n${[...new Set(scopeList)].sort().join(' ')}`);
  }

  /**
   * An authorised request. Only scopes the course's launches granted are ever asked for. A 401 or 403
   * (not a rate limit) with a cached token drops it and retries once with a fresh one, so a 401/403 this
   * returns was answered to a fresh token: a configuration problem, not a transient one.
   */
  async function request(
    platform: PlatformTarget,
    scopeList: readonly string[],
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<Response> {
    if (platform.agsScopes) {
      const granted = platform.agsScopes;
      const missing = scopeList.filter((s) => s.includes('/lti-ags/') && !granted.includes(s));
      if (missing.length > 0) throw new ScopeNotGrantedError(missing);
    }
    for (let attempt = 0; ; attempt += 1) {
      const { token: bearer, fresh } = await token(platform.issuer, platform.clientId, scopeList);
      const res = await fetchImpl(url, {
        method: init.method ?? 'GET',
        headers: { ...init.headers, Authorization: `Bearer ${bearer}`, 'User-Agent': userAgent },
        body: init.body,
        signal: AbortSignal.timeout(init.timeoutMs ?? timeoutMs),
      });
      const refused = res.status === 401 || (res.status === 403 && !/rate limit/i.test(await res.clone().text()));
      if (refused && attempt === 0 && !fresh) {
        invalidate(platform.issuer, platform.clientId, scopeList);
        continue;
      }
      return res;
    }
  }

  return { accessToken, request, invalidate };
}

export type PlatformClient = ReturnType<typeof createPlatformClient>;
