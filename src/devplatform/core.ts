import type { Connection } from 'mongoose';
import type { Logger } from 'pino';
import { createFaults, type Faults } from './faults';
import { createKeyStore, type KeyStore } from './keys';
import { writeSeed } from './seed';
import { createModels, type Models, type RegistrationDoc } from './store';
import { createToolKeys, type ToolKeys } from './tool-keys';
import type { Shape } from './types';

/** Every absolute URL the platform publishes, built from platformUrl (what the outside world sees). */
export interface Urls {
  platform: string;
  tool: string;
  issuer(shape: Shape): string;
  openidConfiguration(shape: Shape): string;
  registration(shape: Shape): string;
  jwks(shape: Shape): string;
  auth(shape: Shape): string;
  token(shape: Shape): string;
  deepLinkReturn(shape: Shape): string;
  returnUrl(shape: Shape, contextId: string): string;
  lineItems(shape: Shape, contextId: string): string;
  lineItem(shape: Shape, contextId: string, lineItemId: string): string;
  memberships(shape: Shape, contextId: string): string;
}

export function createUrls(platformUrl: string, toolUrl: string): Urls {
  const platform = platformUrl.replace(/\/+$/, '');
  const issuer = (shape: Shape): string => `${platform}/${shape}`;
  const context = (shape: Shape, contextId: string): string => `${issuer(shape)}/contexts/${encodeURIComponent(contextId)}`;
  return {
    platform,
    tool: toolUrl.replace(/\/+$/, ''),
    issuer,
    openidConfiguration: (shape) => `${issuer(shape)}/.well-known/openid-configuration`,
    registration: (shape) => `${issuer(shape)}/register`,
    jwks: (shape) => `${issuer(shape)}/jwks`,
    auth: (shape) => `${issuer(shape)}/auth`,
    token: (shape) => `${issuer(shape)}/token`,
    deepLinkReturn: (shape) => `${issuer(shape)}/deeplink-return`,
    returnUrl: (shape, contextId) => `${issuer(shape)}/return?context=${encodeURIComponent(contextId)}`,
    lineItems: (shape, contextId) => `${context(shape, contextId)}/lineitems`,
    lineItem: (shape, contextId, lineItemId) => `${context(shape, contextId)}/lineitems/${encodeURIComponent(lineItemId)}`,
    memberships: (shape, contextId) => `${context(shape, contextId)}/memberships`,
  };
}

/** Test knobs: per-course AGS grants and a maximum page size for AGS and NRPS collections. */
export interface Knobs {
  grants: Map<string, string[]>;
  maxPageSize: number | undefined;
}

export interface Stats {
  jwks: number;
  tokens: Map<string, number>;
}

/** What every part of the platform shares: one instance per createDevPlatform call. */
export interface Core {
  models: Models;
  urls: Urls;
  log: Logger;
  fetch: typeof fetch;
  keys: KeyStore;
  toolKeys: ToolKeys;
  faults: Faults;
  stats: Stats;
  knobs: Knobs;
  /** Writes the seed once per process (idempotent in the database as well). */
  ensureSeed(): Promise<void>;
  /** The active registration of a shape: the most recent one. */
  registration(shape: Shape): Promise<RegistrationDoc | null>;
  registrationByClientId(shape: Shape, clientId: string): Promise<RegistrationDoc | null>;
}

export interface CoreDeps {
  connection: Connection;
  platformUrl: string;
  toolUrl: string;
  logger: Logger;
  fetch?: typeof fetch;
}

/**
 * State one platform instance keeps in memory besides its database (caches of what it reads per request),
 * made on first use: several instances (tests, the bench's two tools) never share it.
 */
export function perCore<T>(make: () => T): (core: Core) => T {
  const made = new WeakMap<Core, T>();
  return (core) => {
    let value = made.get(core);
    if (value === undefined) {
      value = make();
      made.set(core, value);
    }
    return value;
  };
}

export function createCore(deps: CoreDeps): Core {
  const log = deps.logger.child({ component: 'devplatform' });
  const models = createModels(deps.connection);
  const fetchFn = deps.fetch ?? globalThis.fetch;
  let seeded: Promise<void> | undefined;
  return {
    models,
    urls: createUrls(deps.platformUrl, deps.toolUrl),
    log,
    fetch: fetchFn,
    keys: createKeyStore(models, log),
    toolKeys: createToolKeys(fetchFn, log),
    faults: createFaults(log),
    stats: { jwks: 0, tokens: new Map() },
    knobs: { grants: new Map(), maxPageSize: undefined },
    ensureSeed() {
      if (!seeded) {
        seeded = writeSeed(models);
        seeded.catch(() => {
          seeded = undefined;
        });
      }
      return seeded;
    },
    async registration(shape) {
      return models.registrations.findOne({ shape }).sort({ createdAt: -1 }).lean<RegistrationDoc>();
    },
    async registrationByClientId(shape, clientId) {
      return models.registrations.findOne({ _id: clientId, shape }).lean<RegistrationDoc>();
    },
  };
}
