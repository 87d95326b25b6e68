import { createHash, randomBytes } from 'node:crypto';
import express, { Router, type Request } from 'express';
import { decodeJwt, errors } from 'jose';
import { z } from 'zod';
import { perCore, type Core } from './core';
import { errorFormat, handle, PlatformError, singleString } from './http';
import { clientAssertionType, supportedScopes } from './lti';
import { useOnce, type AccessTokenDoc } from './store';
import type { Shape } from './types';

const accessTokenTtlSeconds = 3600;

const tokenRequestSchema = z.object({
  grant_type: singleString.optional(),
  client_assertion_type: singleString.optional(),
  client_assertion: singleString.optional(),
  scope: singleString.optional(),
});

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const invalidClient = (message: string): PlatformError => new PlatformError(401, 'invalid_client', message);

/** Turns jose's verification failures into a sentence a tool developer can act on. */
function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `client_assertion claim ${error.claim}: ${error.message}`;
  if (error instanceof errors.JWTExpired) return 'client_assertion has expired';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key in the tool JWKS matches the client_assertion kid';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'client_assertion signature does not verify with the tool JWKS';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'client_assertion must be signed with RS256';
  if (error instanceof errors.JOSEError) return `client_assertion is invalid: ${error.message}`;
  return `the tool JWKS could not be used: ${(error as Error).message}`;
}

/**
 * OAuth 2.0 client credentials grant with a JWT client assertion (Security Framework §4.1, RFC 7523).
 */
export function tokenRoutes(core: Core, shape: Shape): Router {
  const router = Router();
  let lastPurge = 0;

  router.post(
    '/token',
    errorFormat('oauth'),
    express.urlencoded({ extended: false, limit: '20kb' }),
    handle(async (req, res) => {
      const body = tokenRequestSchema.safeParse(req.body);
      const requested = [...new Set((body.success ? (body.data.scope ?? '') : '').split(/\s+/).filter(Boolean))].sort();
      const key = requested.join(' ');
      core.stats.tokens.set(key, (core.stats.tokens.get(key) ?? 0) + 1);
      if (core.faults.intercept('token', req, res)) return;
      // Canvas refuses token requests without a User-Agent; so do we, so tools find out here.
      if (!req.get('User-Agent')) throw new PlatformError(400, 'invalid_request', 'a User-Agent header is required');
      if (!body.success) throw new PlatformError(400, 'invalid_request', 'each parameter must be given once');
      const { grant_type, client_assertion_type, client_assertion } = body.data;
      if (grant_type !== 'client_credentials')
        throw new PlatformError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
      if (client_assertion_type !== clientAssertionType) {
        throw new PlatformError(400, 'invalid_request', `client_assertion_type must be ${clientAssertionType}`);
      }
      if (!client_assertion) throw new PlatformError(400, 'invalid_request', 'client_assertion is required');
      if (requested.length === 0) throw new PlatformError(400, 'invalid_scope', 'scope is required');

      let unverified: ReturnType<typeof decodeJwt>;
      try {
        unverified = decodeJwt(client_assertion);
      } catch {
        throw invalidClient('client_assertion is not a JWT');
      }
      const clientId = typeof unverified.sub === 'string' ? unverified.sub : undefined;
      const registration = clientId ? await core.registrationByClientId(shape, clientId) : null;
      if (!clientId || !registration) throw invalidClient('client_assertion sub is not a client registered with this platform');

      let claims: Awaited<ReturnType<typeof core.toolKeys.verify>>;
      try {
        claims = await core.toolKeys.verify(client_assertion, registration.jwksUri, {
          algorithms: ['RS256'],
          issuer: clientId,
          subject: clientId,
          audience: core.urls.token(shape),
          requiredClaims: ['exp', 'iat', 'jti'],
          clockTolerance: 5,
        });
      } catch (error) {
        throw invalidClient(describeJoseError(error));
      }
      const exp = claims.exp ?? 0;
      if (!claims.jti || !(await useOnce(core.models, `jti:${clientId}:${claims.jti}`, new Date((exp + 60) * 1000)))) {
        throw invalidClient('client_assertion jti has been used before');
      }
      const refused = requested.filter((s) => !registration.scopes.includes(s) || !supportedScopes.includes(s));
      if (refused.length > 0) throw new PlatformError(400, 'invalid_scope', `scope not granted to this tool: ${refused.join(' ')}`);

      const accessToken = randomBytes(32).toString('base64url');
      await core.models.accessTokens.create({
        _id: hash(accessToken),
        shape,
        clientId,
        scopes: requested,
        expiresAt: new Date(Date.now() + accessTokenTtlSeconds * 1000),
      });
      core.log.debug({ shape, clientId, scope: key }, 'devplatform: access token issued');
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: accessTokenTtlSeconds,
        scope: key,
      });
      if (Date.now() - lastPurge > 60_000) {
        lastPurge = Date.now();
        purgeExpired(core).catch((error: unknown) => core.log.warn({ err: error }, 'devplatform: purge failed'));
      }
    }),
  );
  return router;
}

/** The embedded database has no TTL indexes, so expired one-time records are removed here. */
async function purgeExpired(core: Core): Promise<void> {
  const now = new Date();
  await Promise.all([
    core.models.usedOnce.deleteMany({ expiresAt: { $lt: now } }),
    core.models.accessTokens.deleteMany({ expiresAt: { $lt: now } }),
  ]);
}

export interface Access {
  clientId: string;
  scopes: string[];
}

/**
 * Issued access tokens never change (they are only ever created, and swept after expiry), so one read per
 * token is enough: a tool sends thousands of scores under one token. Expiry is still checked on every use.
 */
const knownTokens = perCore(() => new Map<string, AccessTokenDoc>());
async function accessTokenOf(core: Core, id: string): Promise<AccessTokenDoc | null> {
  const known = knownTokens(core);
  const hit = known.get(id);
  if (hit) return hit;
  const token = await core.models.accessTokens.findById(id).lean<AccessTokenDoc>();
  if (token) {
    if (known.size >= 1000) known.clear();
    known.set(id, token);
  }
  return token;
}

/**
 * Bearer token check for AGS and NRPS (RFC 6750): 401 when missing, unknown or expired; 403 when
 * the token lacks every scope that would allow the operation.
 */
export async function requireAccess(core: Core, shape: Shape, req: Request, anyOf: readonly string[]): Promise<Access> {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
  const unauthorized = (message: string, error?: string): PlatformError =>
    new PlatformError(401, 'unauthorized', message, { 'WWW-Authenticate': error ? `Bearer error="${error}"` : 'Bearer' });
  if (!match?.[1]) throw unauthorized('a Bearer access token is required');
  const token = await accessTokenOf(core, hash(match[1]));
  if (!token || token.shape !== shape) throw unauthorized('the access token is not valid on this platform', 'invalid_token');
  if (token.expiresAt.getTime() <= Date.now()) throw unauthorized('the access token has expired', 'invalid_token');
  if (!anyOf.some((s) => token.scopes.includes(s))) {
    throw new PlatformError(403, 'insufficient_scope', `this operation needs one of the scopes: ${anyOf.join(' ')}`, {
      'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${anyOf.join(' ')}"`,
    });
  }
  return { clientId: token.clientId, scopes: token.scopes };
}
