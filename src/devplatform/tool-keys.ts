import { createLocalJWKSet, errors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Logger } from 'pino';
import { z } from 'zod';

export const platformUserAgent = 'CoachLTI-DevPlatform/1.0';

const jwkSchema = z
  .object({
    kty: z.string(),
    kid: z.string().optional(),
    alg: z.string().optional(),
    use: z.string().optional(),
    n: z.string().optional(),
    e: z.string().optional(),
    crv: z.string().optional(),
    x: z.string().optional(),
    y: z.string().optional(),
  })
  .passthrough();
const jwksSchema = z.object({ keys: z.array(jwkSchema) });

interface CachedSet {
  keys: JWK[];
  fetchedAt: number;
}

export interface ToolKeys {
  /** Verifies a JWT the tool signed, with the key set at its registered jwks_uri. */
  verify(token: string, jwksUri: string, options: JWTVerifyOptions): Promise<JWTPayload>;
}

const cacheMaxAgeMs = 5 * 60_000;
/**
 * An unknown kid refetches the set (the tool adds a key per platform it registers with, as ltijs does,
 * so a miss right after a registration is normal), but misses refetch at most once per this interval
 * so forged kids cannot turn us into a request amplifier.
 */
const kidMissCooldownMs = 1_000;

/** The tool's public keys, fetched with the injected fetch and cached per jwks_uri. */
export function createToolKeys(fetchFn: typeof fetch, logger: Logger): ToolKeys {
  const cache = new Map<string, CachedSet>();
  const inflight = new Map<string, Promise<CachedSet>>();
  const lastMissRefetch = new Map<string, number>();

  async function download(uri: string): Promise<CachedSet> {
    const response = await fetchFn(uri, {
      headers: { Accept: 'application/json', 'User-Agent': platformUserAgent },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`tool JWKS at ${uri} answered HTTP ${response.status}`);
    const parsed = jwksSchema.safeParse(await response.json());
    if (!parsed.success) throw new Error(`tool JWKS at ${uri} is not a JWK set`);
    const set = { keys: parsed.data.keys as JWK[], fetchedAt: Date.now() };
    cache.set(uri, set);
    logger.debug({ jwksUri: uri, keys: set.keys.length }, 'devplatform: fetched tool JWKS');
    return set;
  }

  function refresh(uri: string): Promise<CachedSet> {
    let pending = inflight.get(uri);
    if (!pending) {
      pending = download(uri).finally(() => inflight.delete(uri));
      inflight.set(uri, pending);
    }
    return pending;
  }

  async function current(uri: string): Promise<CachedSet> {
    const cached = cache.get(uri);
    if (cached && Date.now() - cached.fetchedAt < cacheMaxAgeMs) return cached;
    return refresh(uri);
  }

  return {
    async verify(token, jwksUri, options) {
      let set = await current(jwksUri);
      try {
        return (await jwtVerify(token, createLocalJWKSet({ keys: set.keys }), options)).payload;
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        if (Date.now() - (lastMissRefetch.get(jwksUri) ?? 0) < kidMissCooldownMs) throw error;
        lastMissRefetch.set(jwksUri, Date.now());
        set = await refresh(jwksUri);
        return (await jwtVerify(token, createLocalJWKSet({ keys: set.keys }), options)).payload;
      }
    },
  };
}
