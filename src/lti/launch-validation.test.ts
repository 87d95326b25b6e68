import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { JwksCache } from './jwks-cache';
import { createIdTokenValidator, LaunchRefusedError, type NonceStore, type RegisteredPlatform } from './launch-validation';
import type { PlatformRegistry, PlatformSettings } from './platform-registry';

const issuer = 'https://canvas.instructure.com';
const clientId = '10000000000042';
const now = 1_800_000_000;

function memoryNonces(): NonceStore & { seen: Set<string> } {
  const seen = new Set<string>();
  return {
    seen,
    async remember(iss, nonce) {
      const key = `${iss}|${nonce}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

function registryWith(settings: Partial<PlatformSettings>): PlatformRegistry & { added: string[] } {
  const added: string[] = [];
  const full: PlatformSettings = {
    issuer,
    clientId,
    name: 'Canvas',
    deploymentIds: ['dep-1'],
    autoAddDeployments: false,
    registeredVia: 'cli',
    productFamily: 'canvas',
    tokenUrl: 'https://sso.example/token',
    authUrl: 'https://sso.example/auth',
    jwksUrl: 'https://sso.example/jwks',
    createdAt: new Date(),
    ...settings,
  };
  return {
    added,
    find: async (i, c) => (i === full.issuer && c === full.clientId ? full : null),
    list: async () => [full],
    upsert: async () => full,
    addDeployment: async (_i, _c, d) => {
      added.push(d);
    },
    setAutoAddDeployments: async () => undefined,
    remove: async () => true,
  };
}

describe('id_token validation', () => {
  let privateKey: KeyLike;
  let otherKey: KeyLike;
  let platform: RegisteredPlatform;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
    platform = { clientId, kid: 'tool-kid', active: true, keys: { method: 'JWK_KEY', jwk } };
  });

  const baseClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: issuer,
    aud: clientId,
    sub: 'user-1',
    iat: now,
    exp: now + 300,
    nonce: `n-${Math.random()}`,
    name: 'Ada Coach',
    'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
    'https://purl.imsglobal.org/spec/lti/claim/version': '1.3.0',
    'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'dep-1',
    'https://purl.imsglobal.org/spec/lti/claim/target_link_uri': 'https://tool.example/lti/launch',
    'https://purl.imsglobal.org/spec/lti/claim/resource_link': { id: 'rl-1' },
    'https://purl.imsglobal.org/spec/lti/claim/roles': ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
    ...overrides,
  });

  async function sign(claims: Record<string, unknown>, options: { key?: KeyLike; kid?: string } = {}): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'k1' }).sign(options.key ?? privateKey);
  }

  /** In these tests a login's state is `login:<nonce>`: the login that sent exactly that nonce. */
  const loginStateFor = (token: string): string => {
    try {
      return `login:${String(decodeJwt(token).nonce)}`;
    } catch {
      return 'login:none';
    }
  };

  function validator(overrides: { active?: boolean; registry?: PlatformRegistry; nonces?: NonceStore } = {}) {
    const validate = createIdTokenValidator({
      jwks: new JwksCache(),
      nonces: overrides.nonces ?? memoryNonces(),
      expectedNonce: async (state) => (state.startsWith('login:') ? state.slice('login:'.length) : null),
      registry: overrides.registry ?? registryWith({}),
      lookupPlatform: async (i, c) => (i === issuer && c === clientId ? { ...platform, active: overrides.active ?? true } : null),
      now: () => now,
    });
    return (token: string, cookie: string | undefined, state: string | undefined = loginStateFor(token)) => validate(token, cookie, state);
  }

  async function refusal(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof LaunchRefusedError) return error.code;
      throw error;
    }
    return 'ACCEPTED';
  }

  test('when a well-formed learner launch arrives with the state cookie, then its claims are returned and the nonce recorded', async () => {
    const nonces = memoryNonces();
    const claims = baseClaims();
    const result = await validator({ nonces })(await sign(claims), issuer);
    expect(result.clientId).toBe(clientId);
    expect(result.claims.sub).toBe('user-1');
    expect(nonces.seen.has(`${issuer}|${String(claims.nonce)}`)).toBe(true);
  });

  test.each([
    ['the state cookie is missing', {}, undefined, 'MISSING_VALIDATION_COOKIE'],
    ['the issuer differs from the one that started the login', { iss: 'https://evil.example' }, issuer, 'ISS_CLAIM_DOES_NOT_MATCH'],
    ['the token is addressed to another client', { aud: 'someone-else' }, issuer, 'UNREGISTERED_PLATFORM'],
    ['several audiences come without azp', { aud: [clientId, 'other'] }, issuer, 'AZP_DOES_NOT_MATCH'],
    ['azp names a client not in aud', { aud: [clientId], azp: 'other' }, issuer, 'AZP_DOES_NOT_MATCH'],
    ['the token expired', { iat: now - 900, exp: now - 600 }, issuer, 'TOKEN_EXPIRED'],
    ['iat lies in the future', { iat: now + 600, exp: now + 900 }, issuer, 'IAT_IN_FUTURE'],
    ['iat is older than ten minutes', { iat: now - 1200, exp: now + 300 }, issuer, 'TOKEN_TOO_OLD'],
    ['the deployment is unknown', { 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'dep-x' }, issuer, 'UNKNOWN_DEPLOYMENT'],
    [
      'the message type is unsupported',
      { 'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiSubmissionReviewRequest' },
      issuer,
      'UNSUPPORTED_MESSAGE_TYPE',
    ],
    ['the LTI version is 1.1', { 'https://purl.imsglobal.org/spec/lti/claim/version': '1.1' }, issuer, 'UNSUPPORTED_VERSION'],
    [
      'a resource link launch has no resource_link',
      { 'https://purl.imsglobal.org/spec/lti/claim/resource_link': undefined },
      issuer,
      'INVALID_CLAIMS',
    ],
    ['the nonce is missing', { nonce: undefined }, issuer, 'INVALID_CLAIMS'],
  ])('when %s, then the launch is refused', async (_label, overrides, cookie, code) => {
    const nonces = memoryNonces();
    expect(await refusal(validator({ nonces })(await sign(baseClaims(overrides)), cookie))).toBe(code);
    expect(nonces.seen.size).toBe(0);
  });

  test('when the token is signed with a key the platform does not publish under that kid, then the signature check fails', async () => {
    expect(await refusal(validator()(await sign(baseClaims(), { key: otherKey }), issuer))).toBe('INVALID_SIGNATURE');
  });

  test('when the header says alg none or HS256, then the launch is refused before any key lookup', async () => {
    const body = Buffer.from(JSON.stringify(baseClaims())).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${body}.`;
    expect(await refusal(validator()(none, issuer))).toBe('ALG_NOT_RS256');
    const hs = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await refusal(validator()(hs, issuer))).toBe('ALG_NOT_RS256');
  });

  test('when the same token is presented twice, then the second is refused as a replay', async () => {
    const validate = validator();
    const token = await sign(baseClaims());
    await validate(token, issuer);
    expect(await refusal(validate(token, issuer))).toBe('NONCE_ALREADY_RECEIVED');
  });

  test('when the platform is registered but not active, then the launch is refused', async () => {
    expect(await refusal(validator({ active: false })(await sign(baseClaims()), issuer))).toBe('PLATFORM_NOT_ACTIVATED');
  });

  test('when the admin allowed new deployments for the platform, then an unknown deployment is accepted and added', async () => {
    const registry = registryWith({ autoAddDeployments: true });
    await validator({ registry })(await sign(baseClaims({ 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'dep-new' })), issuer);
    expect(registry.added).toEqual(['dep-new']);
  });

  test('when the id_token carries a nonce other than the one sent with its login, then it is refused and nothing is recorded', async () => {
    const nonces = memoryNonces();
    const token = await sign(baseClaims({ nonce: 'nonce-the-platform-chose' }));
    expect(await refusal(validator({ nonces })(token, issuer, 'login:nonce-the-tool-sent'))).toBe('NONCE_MISMATCH');
    expect(await refusal(validator({ nonces })(token, issuer, 'unknown-state'))).toBe('NONCE_MISMATCH');
    expect(nonces.seen.size).toBe(0);
  });

  test('when the token is not a JWT at all, then it is refused as invalid', async () => {
    expect(await refusal(validator()('not-a-jwt', issuer))).toBe('INVALID_JWT_RECEIVED');
  });
  describe('with the login spent in one write (consumeLogin)', () => {
    /** Logins by state: the nonce each sent and whether a launch spent it. */
    function memoryLogins(entries: Record<string, string>) {
      const logins = new Map(Object.entries(entries).map(([state, nonce]) => [state, { nonce, used: false }]));
      return {
        logins,
        consume: async (state: string, nonce: string) => {
          const login = logins.get(state);
          if (!login || login.nonce !== nonce) return 'mismatch' as const;
          if (login.used) return 'replayed' as const;
          login.used = true;
          return 'consumed' as const;
        },
      };
    }
    function consuming(entries: Record<string, string>, registry: PlatformRegistry = registryWith({}), settingsCacheMs = 0) {
      const logins = memoryLogins(entries);
      const validate = createIdTokenValidator({
        jwks: new JwksCache(),
        nonces: memoryNonces(),
        expectedNonce: async () => {
          throw new Error('not used when consumeLogin is given');
        },
        consumeLogin: logins.consume,
        settingsCacheMs,
        registry,
        lookupPlatform: async (i, c) => (i === issuer && c === clientId ? platform : null),
        now: () => now,
      });
      return { validate, logins: logins.logins };
    }

    test('when the token answers its login, then it is accepted once and a replay with the same state is refused', async () => {
      const token = await sign(baseClaims({ nonce: 'n-1' }));
      const { validate, logins } = consuming({ 's-1': 'n-1' });
      expect((await validate(token, issuer, 's-1')).claims.sub).toBe('user-1');
      expect(logins.get('s-1')?.used).toBe(true);
      expect(await refusal(validate(token, issuer, 's-1'))).toBe('NONCE_ALREADY_RECEIVED');
    });

    test("when the token carries another login's nonce or no login matches, then it is refused as a mismatch and no login is spent", async () => {
      const token = await sign(baseClaims({ nonce: 'n-1' }));
      const { validate, logins } = consuming({ 's-1': 'n-1', 's-2': 'n-2' });
      expect(await refusal(validate(token, issuer, 's-2'))).toBe('NONCE_MISMATCH');
      expect(await refusal(validate(token, issuer, 's-unknown'))).toBe('NONCE_MISMATCH');
      expect(await refusal(validate(token, issuer, undefined))).toBe('NONCE_MISMATCH');
      expect([...logins.values()].some((l) => l.used)).toBe(false);
    });

    test('when a check before the nonce fails, then the login is not spent', async () => {
      const token = await sign(baseClaims({ nonce: 'n-1', 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'dep-x' }));
      const { validate, logins } = consuming({ 's-1': 'n-1' });
      expect(await refusal(validate(token, issuer, 's-1'))).toBe('UNKNOWN_DEPLOYMENT');
      expect(logins.get('s-1')?.used).toBe(false);
    });

    test('when platform settings are cached and a deployment was added elsewhere, then the launch re-reads them and is accepted', async () => {
      let deploymentIds = ['dep-1'];
      let reads = 0;
      const base = registryWith({});
      const registry: PlatformRegistry = {
        ...base,
        find: async (i, c) => {
          reads += 1;
          const found = await base.find(i, c);
          return found ? { ...found, deploymentIds } : null;
        },
      };
      const { validate } = consuming({ 's-1': 'n-1', 's-2': 'n-2', 's-3': 'n-3' }, registry, 60_000);
      await validate(await sign(baseClaims({ nonce: 'n-1' })), issuer, 's-1');
      await validate(await sign(baseClaims({ nonce: 'n-2' })), issuer, 's-2');
      expect(reads).toBe(1);
      deploymentIds = ['dep-1', 'dep-2'];
      const other = await sign(baseClaims({ nonce: 'n-3', 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'dep-2' }));
      expect((await validate(other, issuer, 's-3')).claims['https://purl.imsglobal.org/spec/lti/claim/deployment_id']).toBe('dep-2');
      expect(reads).toBe(2);
    });
  });
});
