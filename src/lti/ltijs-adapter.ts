import { AsyncLocalStorage } from 'node:async_hooks';
import { createPrivateKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { CookieOptions, Express, NextFunction, Request, Response } from 'express';
import type { JWK } from 'jose';
import { ConflictError, ServiceUnavailableError } from '../shared/errors';
import type { PlatformKeySource } from './jwks-cache';
import { LaunchRefusal } from './launch-errors';
import type { IdTokenValidator, RegisteredPlatform, ValidatedLaunch } from './launch-validation';

/**
 * The only module that touches ltijs. ltijs 5.9.9 ships no usable types (@types/ltijs describes v4),
 * so the small part we use is typed here. What we take from ltijs: the OIDC login route with its state
 * cookie, the tool key set (/lti/keys), per-platform RSA keys and the platform store. What we replace:
 * id_token validation (ltijs fetches the platform JWKS on every launch, ignores deployment_id and stores
 * the nonce before all checks pass) — see launch-validation.ts.
 */

interface LtijsPlatform {
  platformUrl(): Promise<string>;
  platformClientId(): Promise<string>;
  platformName(): Promise<string>;
  platformKid(): Promise<string>;
  platformActive(active?: boolean): Promise<boolean>;
  platformAuthConfig(): Promise<{ method: string; key: unknown }>;
  platformPrivateKey(): Promise<string>;
  platformAccessTokenEndpoint(): Promise<string>;
  platformAuthEndpoint(): Promise<string>;
  delete(): Promise<unknown>;
}

type LtijsHandler = (req: Request, res: Response, next: NextFunction) => unknown;
type LtijsLaunchHandler = (token: unknown, req: Request, res: Response, next: NextFunction) => unknown;

interface LtijsProvider {
  app: Express;
  Database: object;
  setup(key: string, database: { url: string; connection?: Record<string, unknown> }, options: Record<string, unknown>): LtijsProvider;
  deploy(options: { serverless: boolean; silent: boolean }): Promise<true>;
  close(options: { silent: boolean }): Promise<true>;
  onConnect(handler: LtijsLaunchHandler): true;
  onDeepLinking(handler: LtijsLaunchHandler): true;
  onInvalidToken(handler: LtijsHandler): true;
  onSessionTimeout(handler: LtijsHandler): true;
  onUnregisteredPlatform(handler: LtijsHandler): true;
  onInactivePlatform(handler: LtijsHandler): true;
  registerPlatform(platform: {
    url: string;
    name: string;
    clientId: string;
    authenticationEndpoint: string;
    accesstokenEndpoint: string;
    authorizationServer?: string;
    authConfig: { method: 'JWK_SET' | 'JWK_KEY' | 'RSA_KEY'; key: string };
  }): Promise<LtijsPlatform>;
  getPlatform(url: string, clientId: string): Promise<LtijsPlatform | false>;
  getAllPlatforms(): Promise<LtijsPlatform[]>;
  deletePlatform(url: string, clientId: string): Promise<true>;
}

interface LtijsDatabase {
  Replace(encryptionKey: unknown, collection: string, query: object, item: object, index?: object): Promise<unknown>;
}

interface LtijsAuth {
  generatePlatformKeyPair(encryptionKey: string, database: LtijsDatabase, platformUrl: string, clientId: string): Promise<string>;
  validateToken(
    token: string,
    devMode: boolean,
    validationParameters: { iss?: string },
    getPlatform: unknown,
    encryptionKey: string,
    database: object,
  ): Promise<Record<string, unknown>>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- untyped CommonJS library, typed above */
const ltijsSingleton = (require('ltijs') as { Provider: LtijsProvider }).Provider;
const ltijsAuth = require('ltijs/dist/Utils/Auth') as LtijsAuth;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Tests only (TEST_PLATFORM_KEY_BITS): inside this context a registered platform's key pair uses the smaller size
 * (seconds of CPU saved per test server); production (always 4096) never enters it.
 */
const platformKeyBits = new AsyncLocalStorage<number>();

/** Validators by ltijs Database instance: each provider we create routes validation to its own. */
const validators = new WeakMap<object, { validate: IdTokenValidator; issuerWithoutCookie?: CookielessIssuer }>();
/**
 * Per request through ltijs: the launch our validator accepted, and the way back out to our app
 * (ltijs calls some handlers without `next`, and leaving must restore express's req/res prototypes).
 */
const launchSlot = new AsyncLocalStorage<{
  launch?: ValidatedLaunch;
  state?: string;
  origin?: string;
  /** The issuer came from the login attempt, not the state cookie (third-party cookies blocked). */
  cookieless?: boolean;
  exit: NextFunction;
}>();

/** The issuer of the login that issued `state`, for a launch posted from `origin` without the state cookie. */
export type CookielessIssuer = (state: string, origin: string | undefined) => Promise<string | undefined>;

ltijsAuth.validateToken = async (token, _devMode, validationParameters, _getPlatform, _key, database) => {
  const registered = validators.get(database);
  if (!registered) throw new Error('no CoachLTI validator registered for this ltijs instance');
  const slot = launchSlot.getStore();
  let issuer = validationParameters.iss;
  if (!issuer && slot?.state && registered.issuerWithoutCookie) {
    issuer = await registered.issuerWithoutCookie(slot.state, slot.origin);
    slot.cookieless = issuer !== undefined;
  }
  const launch = await registered.validate(token, issuer, slot?.state);
  if (slot) slot.launch = launch;
  // ltijs reads these two extra fields from the value it gets back.
  return { ...launch.payload, clientId: launch.clientId, platformId: launch.kid };
};

// ltijs generates each platform's RSA-4096 key pair synchronously (seconds on a busy machine, every
// request stalls meanwhile); the same keys, stored the same way, generated off the event loop.
const generateRsaKeyPair = promisify(generateKeyPair);
ltijsAuth.generatePlatformKeyPair = async (encryptionKey, database, platformUrl, clientId) => {
  const kid = randomBytes(16).toString('hex');
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', {
    modulusLength: platformKeyBits.getStore() ?? 4096,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const where = { platformUrl, clientId };
  await database.Replace(encryptionKey, 'publickey', where, { key: publicKey, kid }, { kid, ...where });
  await database.Replace(encryptionKey, 'privatekey', where, { key: privateKey, kid }, { kid, ...where });
  return kid;
};

/**
 * An answer ltijs sent by itself, as one of our errors: its refusal code for a 4xx (a LaunchRefusal page),
 * and for a 5xx a failure whose text goes to the log only (it can name internal hosts and ports).
 */
function ltijsFailure(status: number, body: unknown): Error {
  const details = (body as { details?: { message?: unknown } } | undefined)?.details;
  const message = typeof details?.message === 'string' ? details.message : '';
  if (status < 500) return new LaunchRefusal(/^[A-Z_]{3,60}$/.test(message) ? message : 'INVALID_TOKEN');
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|Server selection|connection|topology|buffering timed out/i.test(message)) {
    return Object.assign(new ServiceUnavailableError('The database is not reachable right now. Please try again in a minute.'), {
      cause: new Error(`ltijs: ${message}`),
    });
  }
  return new Error(`ltijs answered ${status}: ${message}`);
}

/** A registration named an issuer + client id that is already registered; nothing was changed. */
export class PlatformExistsError extends ConflictError {
  constructor(issuer: string, clientId: string) {
    super(`A platform ${issuer} with client id ${clientId} is already registered; it was not changed.`);
  }
}

export interface PlatformRecord {
  issuer: string;
  clientId: string;
  name: string;
  kid: string;
  active: boolean;
  authUrl: string;
  tokenUrl: string;
  keys: PlatformKeySource;
}

export interface LtiProviderOptions {
  encryptionKey: string;
  databaseUri: string;
  secureCookies: boolean;
  /** RSA size of each platform's key pair (4096; smaller only in tests). */
  platformKeyBits?: number;
  validator: IdTokenValidator;
  /** Without it, a launch without the login's state cookie is refused (the page offers a new window). */
  issuerWithoutCookie?: CookielessIssuer;
  /** A validated launch (resource link or deep linking); `res.locals.cookielessLaunch` when it came without the state cookie. */
  onLaunch(launch: ValidatedLaunch, req: Request, res: Response): Promise<void>;
  /** ltijs refused the request before or during validation: code as in LaunchRefusal or an ltijs code. */
  onRefused(code: string, req: Request, res: Response, next: NextFunction): void;
  /**
   * How long a registered platform (endpoints, keys, active flag) is served from memory. Changes made
   * through this provider apply at once; changes made by another process (the platform CLI, another
   * replica) within this bound. Default 5 s; 0 turns the cache off.
   */
  platformCacheMs?: number;
}

/** Default of LtiProviderOptions.platformCacheMs. */
export const defaultPlatformCacheMs = 5_000;

export interface LtiProvider {
  /** Express app to mount under /lti: /login, /launch, /keys. */
  readonly app: Express;
  deploy(): Promise<void>;
  close(): Promise<void>;
  lookupPlatform(issuer: string, clientId: string): Promise<RegisteredPlatform | null>;
  /**
   * Adds a platform (ltijs generates its key pair). ltijs itself would silently overwrite the endpoints and
   * key set of an existing one; here that needs `{ replace: true }` (an operator's or administrator's
   * decision), otherwise PlatformExistsError.
   */
  registerPlatform(
    input: {
      issuer: string;
      clientId: string;
      name: string;
      authUrl: string;
      tokenUrl: string;
      jwksUrl: string;
    },
    options?: { replace?: boolean },
  ): Promise<PlatformRecord>;
  getPlatform(issuer: string, clientId: string): Promise<PlatformRecord | null>;
  listPlatforms(): Promise<PlatformRecord[]>;
  setActive(issuer: string, clientId: string, active: boolean): Promise<boolean>;
  removePlatform(issuer: string, clientId: string): Promise<boolean>;
  /** The private key ltijs generated for this platform: signs client assertions and deep-linking responses. */
  signingKey(issuer: string, clientId: string): Promise<{ kid: string; key: KeyObject } | null>;
}

async function keySourceOf(platform: LtijsPlatform): Promise<PlatformKeySource> {
  const config = await platform.platformAuthConfig();
  const key = config.key;
  if (config.method === 'JWK_KEY') return { method: 'JWK_KEY', jwk: (typeof key === 'string' ? JSON.parse(key) : key) as JWK };
  if (config.method === 'RSA_KEY') return { method: 'RSA_KEY', pem: String(key) };
  return { method: 'JWK_SET', url: String(key) };
}

async function toRecord(platform: LtijsPlatform): Promise<PlatformRecord> {
  return {
    issuer: await platform.platformUrl(),
    clientId: await platform.platformClientId(),
    name: await platform.platformName(),
    kid: await platform.platformKid(),
    active: await platform.platformActive(),
    authUrl: await platform.platformAuthEndpoint(),
    tokenUrl: await platform.platformAccessTokenEndpoint(),
    keys: await keySourceOf(platform),
  };
}

export function createLtiProvider(options: LtiProviderOptions): LtiProvider {
  // ltijs exports one instance; a fresh one per server lets tests start and stop servers in one process.
  const ProviderClass = ltijsSingleton.constructor as new () => LtijsProvider;
  const provider = new ProviderClass();
  provider.setup(
    options.encryptionKey,
    { url: options.databaseUri, connection: { serverSelectionTimeoutMS: 5000 } },
    {
      appRoute: '/launch',
      loginRoute: '/login',
      keysetRoute: '/keys',
      // Our own Dynamic Registration handles /register (Canvas privacy level, deployment id, activation).
      dynRegRoute: '/ltijs-dynamic-registration-disabled',
      // No ltik tokens in URLs or cookies: the launch is handled in the same request and we keep our own session.
      ltiaas: true,
      devMode: false,
      cors: false,
      tokenMaxAge: 600,
      cookies: { secure: options.secureCookies, sameSite: options.secureCookies ? 'None' : 'Lax' },
    },
  );
  validators.set(provider.Database, { validate: options.validator, issuerWithoutCookie: options.issuerWithoutCookie });

  const exitOf = (fallback: NextFunction | undefined): NextFunction => {
    const exit = launchSlot.getStore()?.exit ?? fallback;
    if (!exit) throw new Error('ltijs handler called outside a CoachLTI request');
    return exit;
  };
  const handleLaunch: LtijsLaunchHandler = (_token, req, res, next) => {
    const slot = launchSlot.getStore();
    const launch = slot?.launch;
    if (slot?.cookieless) res.locals.cookielessLaunch = true;
    if (!launch) {
      options.onRefused('NO_LTIK_OR_IDTOKEN_FOUND', req, res, exitOf(next));
      return;
    }
    options.onLaunch(launch, req, res).catch(exitOf(next));
  };
  provider.onConnect(handleLaunch);
  provider.onDeepLinking(handleLaunch);
  const refusal =
    (fallback: string): LtijsHandler =>
    (req, res, next) => {
      const locals = res.locals as { err?: { details?: { message?: unknown } } };
      const code = locals.err?.details?.message;
      options.onRefused(typeof code === 'string' ? code : fallback, req, res, exitOf(next));
    };
  provider.onInvalidToken(refusal('INVALID_TOKEN'));
  provider.onSessionTimeout(refusal('SESSION_NOT_FOUND'));
  provider.onUnregisteredPlatform(refusal('UNREGISTERED_PLATFORM'));
  provider.onInactivePlatform(refusal('PLATFORM_NOT_ACTIVATED'));

  // Every request through ltijs gets a slot where the validator leaves the launch it accepted.
  const ltijsApp = provider.app;
  const app = ((req: Request, res: Response, next: NextFunction) => {
    const requestProto: unknown = Object.getPrototypeOf(req);
    const responseProto: unknown = Object.getPrototypeOf(res);
    // ltijs's express app re-parents req/res to itself; as express does for mounted apps, restore ours on the way out.
    const exit: NextFunction = (error?: unknown) => {
      // Back in our app: our own error pages go out through the ordinary send.
      delete (res as { send?: unknown }).send;
      delete (res as { cookie?: unknown }).cookie;
      Object.setPrototypeOf(req, requestProto as object);
      Object.setPrototypeOf(res, responseProto as object);
      next(error);
    };
    // ltijs answers some refusals and its own failures itself (raw JSON, with database error text):
    // route those through our error handler instead, which never shows internal details.
    const send = res.send;
    res.send = function (this: Response, body?: unknown) {
      if (res.statusCode < 400 || res.headersSent) return send.call(this, body);
      exit(ltijsFailure(res.statusCode, body));
      return res;
    } as Response['send'];
    if (options.secureCookies) {
      // ltijs passes only some cookie options through; its state cookie lives in the LMS iframe too (CHIPS).
      const cookie = res.cookie;
      const partitioned = function (this: Response, name: string, value: unknown, cookieOptions?: CookieOptions): Response {
        return (cookie as (n: string, v: unknown, o: CookieOptions) => Response).call(this, name, value, {
          ...cookieOptions,
          partitioned: true,
        });
      };
      res.cookie = partitioned as Response['cookie'];
    }
    const state = (req.body as { state?: unknown } | undefined)?.state;
    launchSlot.run({ exit, state: typeof state === 'string' ? state : undefined, origin: req.get('origin') }, () =>
      ltijsApp(req, res, exit),
    );
  }) as unknown as Express;

  const uncachedGetPlatform = provider.getPlatform.bind(provider);
  const getPlatform = async (issuer: string, clientId: string): Promise<LtijsPlatform | null> => {
    const platform = await uncachedGetPlatform(issuer, clientId);
    return platform || null;
  };

  // Registered platforms in memory: ltijs reads the platform and its status at every login, and our
  // validator needs both again at the launch (4 reads per launch). Only registered platforms are kept
  // (an unknown issuer is looked up every time), at most a few hundred.
  interface CachedPlatform {
    platform: LtijsPlatform;
    active: boolean;
    kid: string;
    keys: PlatformKeySource;
  }
  const platformCacheMs = options.platformCacheMs ?? defaultPlatformCacheMs;
  const platformCache = new Map<string, { at: number; entry: Promise<CachedPlatform | null> }>();
  const cacheKey = (issuer: string, clientId: string): string => `${issuer}\n${clientId}`;
  const forget = (issuer: string, clientId: string): void => {
    platformCache.delete(cacheKey(issuer, clientId));
  };
  const cachedPlatform = (issuer: string, clientId: string): Promise<CachedPlatform | null> => {
    const key = cacheKey(issuer, clientId);
    const hit = platformCache.get(key);
    if (hit && Date.now() - hit.at < platformCacheMs) return hit.entry;
    const entry = (async () => {
      const platform = await getPlatform(issuer, clientId);
      if (!platform) return null;
      return { platform, active: await platform.platformActive(), kid: await platform.platformKid(), keys: await keySourceOf(platform) };
    })();
    if (platformCacheMs > 0) {
      if (platformCache.size >= 500) platformCache.clear();
      const slot = { at: Date.now(), entry };
      platformCache.set(key, slot);
      // Failures and unknown platforms are not remembered.
      entry.then(
        (found) => {
          if (!found && platformCache.get(key) === slot) platformCache.delete(key);
        },
        () => {
          if (platformCache.get(key) === slot) platformCache.delete(key);
        },
      );
    }
    return entry;
  };
  // ltijs's login looks the platform up through its own method: serve it from the cache, with the
  // cached active flag (setting the flag still goes to the database). Calls with more arguments are
  // ltijs's registration internals and go to the database.
  provider.getPlatform = (async (url: string, clientId?: string, ...rest: unknown[]) => {
    if (!clientId || rest.length > 0) return (uncachedGetPlatform as (...a: unknown[]) => Promise<unknown>)(url, clientId, ...rest);
    const found = await cachedPlatform(url, clientId);
    if (!found) return false;
    return new Proxy(found.platform, {
      get(target, property) {
        if (property === 'platformActive') {
          return (active?: boolean) => (active === undefined ? Promise.resolve(found.active) : target.platformActive(active));
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }) as LtijsProvider['getPlatform'];

  // In ltiaas mode ltijs still stores a copy of every launch's identity and context for its ltik tokens,
  // which this tool never uses (it keeps its own session and records): two writes and a copy of personal
  // data per launch, skipped.
  const ltijsDatabase = provider.Database as { Replace(...args: unknown[]): Promise<unknown> };
  const replace = ltijsDatabase.Replace.bind(ltijsDatabase);
  ltijsDatabase.Replace = (encryptionKey: unknown, collection: unknown, ...rest: unknown[]) =>
    collection === 'idtoken' || collection === 'contexttoken' ? Promise.resolve(true) : replace(encryptionKey, collection, ...rest);

  return {
    app,
    async deploy() {
      const before = new Set(process.listeners('SIGINT'));
      await provider.deploy({ serverless: true, silent: true });
      // ltijs installs a SIGINT handler that exits the process; our main owns shutdown.
      for (const listener of process.listeners('SIGINT')) {
        if (!before.has(listener)) process.removeListener('SIGINT', listener);
      }
    },
    async close() {
      await provider.close({ silent: true });
    },
    async lookupPlatform(issuer, clientId) {
      const found = await cachedPlatform(issuer, clientId);
      return found ? { clientId, kid: found.kid, active: found.active, keys: found.keys } : null;
    },
    async registerPlatform(input, registerOptions = {}) {
      if (!registerOptions.replace && (await getPlatform(input.issuer, input.clientId))) {
        throw new PlatformExistsError(input.issuer, input.clientId);
      }
      forget(input.issuer, input.clientId);
      const register = (): Promise<LtijsPlatform> =>
        provider.registerPlatform({
          url: input.issuer,
          name: input.name,
          clientId: input.clientId,
          authenticationEndpoint: input.authUrl,
          accesstokenEndpoint: input.tokenUrl,
          authConfig: { method: 'JWK_SET', key: input.jwksUrl },
        });
      const bits = options.platformKeyBits ?? 4096;
      const platform = bits === 4096 ? await register() : await platformKeyBits.run(bits, register);
      forget(input.issuer, input.clientId);
      return toRecord(platform);
    },
    async getPlatform(issuer, clientId) {
      const platform = await getPlatform(issuer, clientId);
      return platform ? toRecord(platform) : null;
    },
    async listPlatforms() {
      return Promise.all((await provider.getAllPlatforms()).map(toRecord));
    },
    async setActive(issuer, clientId, active) {
      const platform = await getPlatform(issuer, clientId);
      if (!platform) return false;
      forget(issuer, clientId);
      await platform.platformActive(active);
      forget(issuer, clientId);
      return true;
    },
    async removePlatform(issuer, clientId) {
      const platform = await getPlatform(issuer, clientId);
      if (!platform) return false;
      forget(issuer, clientId);
      await platform.delete();
      forget(issuer, clientId);
      return true;
    },
    async signingKey(issuer, clientId) {
      const platform = await getPlatform(issuer, clientId);
      if (!platform) return null;
      return { kid: await platform.platformKid(), key: createPrivateKey(await platform.platformPrivateKey()) };
    },
  };
}
