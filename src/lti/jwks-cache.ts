import { createLocalJWKSet, createRemoteJWKSet, importSPKI, type JWK, type JWTVerifyGetKey, type KeyLike } from 'jose';

export const userAgent = 'CoachLTI/0.1 (+LTI 1.3 tool)';

export type PlatformKeySource = { method: 'JWK_SET'; url: string } | { method: 'JWK_KEY'; jwk: JWK } | { method: 'RSA_KEY'; pem: string };

/**
 * Platform public keys, cached per JWKS URL. ltijs fetches the JWKS on every launch; here a key set
 * is fetched once, kept for 10 minutes, and refetched early only for an unknown `kid` (key rotation),
 * at most once per 30 s so forged kids cannot make us hammer the platform.
 */
export class JwksCache {
  private readonly remote = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly options: { cacheMaxAgeMs?: number; cooldownMs?: number; timeoutMs?: number } = {}) {}

  resolver(source: PlatformKeySource): JWTVerifyGetKey | KeyLike | Promise<KeyLike> {
    switch (source.method) {
      case 'JWK_SET': {
        let getKey = this.remote.get(source.url);
        if (!getKey) {
          getKey = createRemoteJWKSet(new URL(source.url), {
            cacheMaxAge: this.options.cacheMaxAgeMs ?? 10 * 60_000,
            cooldownDuration: this.options.cooldownMs ?? 30_000,
            timeoutDuration: this.options.timeoutMs ?? 5_000,
            headers: { 'User-Agent': userAgent },
          });
          this.remote.set(source.url, getKey);
        }
        return getKey;
      }
      case 'JWK_KEY':
        return createLocalJWKSet({ keys: [source.jwk] });
      case 'RSA_KEY':
        return importSPKI(source.pem, 'RS256');
    }
  }
}
