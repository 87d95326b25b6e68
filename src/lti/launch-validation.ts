import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { Schema, type Connection, type Model } from 'mongoose';
import { describeClaimIssues, idTokenClaimsSchema, type IdTokenClaims } from './claims';
import type { JwksCache, PlatformKeySource } from './jwks-cache';
import type { PlatformRegistry } from './platform-registry';

/** Why a launch was refused. The code is stable (tests, logs); the status and text come from launch-errors.ts. */
export type LaunchRefusal =
  | 'MISSING_VALIDATION_COOKIE'
  | 'ISS_CLAIM_DOES_NOT_MATCH'
  | 'INVALID_JWT_RECEIVED'
  | 'ALG_NOT_RS256'
  | 'KID_NOT_FOUND'
  | 'UNREGISTERED_PLATFORM'
  | 'PLATFORM_NOT_ACTIVATED'
  | 'INVALID_SIGNATURE'
  | 'TOKEN_EXPIRED'
  | 'IAT_IN_FUTURE'
  | 'TOKEN_TOO_OLD'
  | 'AZP_DOES_NOT_MATCH'
  | 'UNKNOWN_DEPLOYMENT'
  | 'UNSUPPORTED_MESSAGE_TYPE'
  | 'UNSUPPORTED_VERSION'
  | 'INVALID_CLAIMS'
  | 'NONCE_ALREADY_RECEIVED'
  | 'NONCE_MISMATCH';

export class LaunchRefusedError extends Error {
  constructor(
    readonly code: LaunchRefusal,
    readonly detail?: string,
  ) {
    // ltijs forwards only err.message to its invalid-token handler, so the message is the code, followed for
    // INVALID_CLAIMS by the claim and the rule (never a value from the token), which the refusal page shows.
    super(code === 'INVALID_CLAIMS' && detail ? `${code}: ${detail}` : code);
    this.name = 'LaunchRefusedError';
  }
}

export interface RegisteredPlatform {
  clientId: string;
  kid: string;
  active: boolean;
  keys: PlatformKeySource;
}

export type PlatformLookup = (issuer: string, clientId: string) => Promise<RegisteredPlatform | null>;

export interface ValidatedLaunch {
  claims: IdTokenClaims;
  payload: JWTPayload;
  clientId: string;
  kid: string;
}

export interface NonceStore {
  /** Records the nonce; false when it was seen before (a replay). */
  remember(issuer: string, nonce: string): Promise<boolean>;
}

export function createNonceStore(connection: Connection): NonceStore {
  interface NonceDoc {
    issuer: string;
    nonce: string;
    createdAt: Date;
  }
  const model: Model<NonceDoc> =
    connection.models.LtiNonce ??
    connection.model<NonceDoc>(
      'LtiNonce',
      new Schema<NonceDoc>({ issuer: String, nonce: String, createdAt: Date }, { collection: 'lti_nonces', versionKey: false }),
    );
  return {
    async remember(issuer, nonce) {
      try {
        await model.create({ issuer, nonce, createdAt: new Date() });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 11000) return false;
        throw error;
      }
    },
  };
}

export interface ValidatorDeps {
  jwks: JwksCache;
  nonces: NonceStore;
  /** The nonce this tool sent to the platform with a login's state. */
  expectedNonce(state: string): Promise<string | null>;
  /**
   * When given, replaces expectedNonce + nonces: checks the nonce against the login's state and spends
   * the login in one write (a login answers one launch, so a replayed token is refused).
   */
  consumeLogin?(state: string, nonce: string): Promise<'consumed' | 'mismatch' | 'replayed'>;
  /** How long platform settings (deployments) are reused between launches; an unknown deployment is always re-read. */
  settingsCacheMs?: number;
  registry: PlatformRegistry;
  lookupPlatform: PlatformLookup;
  /** Seconds of clock skew tolerated between us and the platform. */
  clockToleranceSeconds?: number;
  /** Oldest acceptable iat, in seconds. */
  maxAgeSeconds?: number;
  now?: () => number;
}

const messageTypeClaim = 'https://purl.imsglobal.org/spec/lti/claim/message_type';
const versionClaim = 'https://purl.imsglobal.org/spec/lti/claim/version';

/**
 * Validates an id_token per LTI Core 1.3 / 1EdTech Security Framework §5.1.3, in an order that
 * writes nothing until everything else passed: the nonce is recorded last.
 */
export function createIdTokenValidator(deps: ValidatorDeps) {
  const tolerance = deps.clockToleranceSeconds ?? 30;
  const maxAge = deps.maxAgeSeconds ?? 600;
  const now = deps.now ?? (() => Date.now() / 1000);
  const settingsCacheMs = deps.settingsCacheMs ?? 0;
  const settingsCache = new Map<string, { at: number; settings: Awaited<ReturnType<PlatformRegistry['find']>> }>();
  async function settingsFor(issuer: string, clientId: string, fresh: boolean): ReturnType<PlatformRegistry['find']> {
    const key = `${issuer}\n${clientId}`;
    const hit = settingsCache.get(key);
    if (!fresh && hit && Date.now() - hit.at < settingsCacheMs) return hit.settings;
    const settings = await deps.registry.find(issuer, clientId);
    if (settingsCacheMs > 0 && settings) {
      if (settingsCache.size >= 500) settingsCache.clear();
      settingsCache.set(key, { at: Date.now(), settings });
    }
    return settings;
  }

  return async function validate(token: string, cookieIssuer: string | undefined, loginState?: string): Promise<ValidatedLaunch> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new LaunchRefusedError('INVALID_JWT_RECEIVED');
    }
    if (header.alg !== 'RS256') throw new LaunchRefusedError('ALG_NOT_RS256', `alg ${String(header.alg)}`);
    if (!cookieIssuer) throw new LaunchRefusedError('MISSING_VALIDATION_COOKIE');
    if (typeof unverified.iss !== 'string' || unverified.iss !== cookieIssuer) throw new LaunchRefusedError('ISS_CLAIM_DOES_NOT_MATCH');
    if (!header.kid) throw new LaunchRefusedError('KID_NOT_FOUND');

    // aud may be a string or a list; with a list, azp names the client the token is for (OIDC Core §2).
    const audiences = Array.isArray(unverified.aud) ? unverified.aud : unverified.aud ? [unverified.aud] : [];
    const azp = typeof unverified.azp === 'string' ? unverified.azp : undefined;
    if (audiences.length > 1 && !azp) throw new LaunchRefusedError('AZP_DOES_NOT_MATCH', 'several audiences and no azp');
    if (azp && !audiences.includes(azp)) throw new LaunchRefusedError('AZP_DOES_NOT_MATCH');
    const candidate = azp ?? audiences[0];
    const platform = candidate ? await deps.lookupPlatform(unverified.iss, candidate) : null;
    if (!platform) {
      // azp names another party although we are among the audiences: the token is not for us.
      for (const aud of audiences) {
        if (azp && aud !== azp && (await deps.lookupPlatform(unverified.iss, aud))) throw new LaunchRefusedError('AZP_DOES_NOT_MATCH');
      }
      throw new LaunchRefusedError('UNREGISTERED_PLATFORM');
    }
    if (!platform.active) throw new LaunchRefusedError('PLATFORM_NOT_ACTIVATED');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, deps.jwks.resolver(platform.keys) as Parameters<typeof jwtVerify>[1], {
        algorithms: ['RS256'],
        issuer: unverified.iss,
        audience: platform.clientId,
        clockTolerance: tolerance,
        currentDate: new Date(now() * 1000),
        requiredClaims: ['exp', 'iat', 'nonce'],
      }));
    } catch (error) {
      throw mapJoseError(error);
    }
    const iat = payload.iat ?? 0;
    if (iat > now() + tolerance) throw new LaunchRefusedError('IAT_IN_FUTURE');
    if (now() - iat > maxAge) throw new LaunchRefusedError('TOKEN_TOO_OLD');

    const messageType = payload[messageTypeClaim];
    if (messageType !== 'LtiResourceLinkRequest' && messageType !== 'LtiDeepLinkingRequest') {
      throw new LaunchRefusedError('UNSUPPORTED_MESSAGE_TYPE', `message type ${String(messageType)}`);
    }
    if (payload[versionClaim] !== '1.3.0') throw new LaunchRefusedError('UNSUPPORTED_VERSION', `version ${String(payload[versionClaim])}`);
    const parsed = idTokenClaimsSchema.safeParse(payload);
    if (!parsed.success) {
      throw new LaunchRefusedError('INVALID_CLAIMS', describeClaimIssues(parsed.error));
    }
    const claims = parsed.data;

    const deploymentId = claims['https://purl.imsglobal.org/spec/lti/claim/deployment_id'];
    // Deployments are only ever added: a cached list that names this one is right; otherwise read afresh.
    let settings = await settingsFor(claims.iss, platform.clientId, false);
    let knownDeployment = settings?.deploymentIds.includes(deploymentId) ?? false;
    if (!knownDeployment && settingsCacheMs > 0) {
      settings = await settingsFor(claims.iss, platform.clientId, true);
      knownDeployment = settings?.deploymentIds.includes(deploymentId) ?? false;
    }
    if (!knownDeployment && !settings?.autoAddDeployments) {
      throw new LaunchRefusedError('UNKNOWN_DEPLOYMENT', `deployment ${deploymentId}`);
    }

    // The id_token answers this login: its nonce must be the one sent with the login's state.
    if (typeof payload.nonce !== 'string' || !loginState) throw new LaunchRefusedError('NONCE_MISMATCH');
    if (deps.consumeLogin) {
      const outcome = await deps.consumeLogin(loginState, payload.nonce);
      if (outcome === 'mismatch') throw new LaunchRefusedError('NONCE_MISMATCH');
      if (outcome === 'replayed') throw new LaunchRefusedError('NONCE_ALREADY_RECEIVED');
    } else {
      const expected = await deps.expectedNonce(loginState);
      if (expected === null || payload.nonce !== expected) throw new LaunchRefusedError('NONCE_MISMATCH');
      if (!(await deps.nonces.remember(claims.iss, payload.nonce))) {
        throw new LaunchRefusedError('NONCE_ALREADY_RECEIVED');
      }
    }
    if (!knownDeployment) {
      await deps.registry.addDeployment(claims.iss, platform.clientId, deploymentId);
      settingsCache.delete(`${claims.iss}\n${platform.clientId}`);
    }
    return { claims, payload, clientId: platform.clientId, kid: platform.kid };
  };
}

export type IdTokenValidator = ReturnType<typeof createIdTokenValidator>;

function mapJoseError(error: unknown): LaunchRefusedError {
  if (error instanceof joseErrors.JWTExpired) return new LaunchRefusedError('TOKEN_EXPIRED');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iat') return new LaunchRefusedError('IAT_IN_FUTURE');
    return new LaunchRefusedError('INVALID_CLAIMS', `${error.claim} ${error.reason === 'missing' ? 'is required' : 'is invalid'}`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return new LaunchRefusedError('KID_NOT_FOUND');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new LaunchRefusedError('INVALID_SIGNATURE');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new LaunchRefusedError('ALG_NOT_RS256');
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return new LaunchRefusedError('INVALID_JWT_RECEIVED');
  return new LaunchRefusedError('INVALID_SIGNATURE', (error as Error).message);
}
