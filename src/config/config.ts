import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { faultPointNames, type FaultPointName } from '../shared/fault-points';
import { fromRoot } from '../shared/paths';
import { generateKeyEntry, parseKeyList } from '../privacy/field-crypto';

/** Thrown when the environment cannot produce a valid configuration; main prints its one-line message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const emptyAsUndefined = (value: unknown): unknown => (value === '' ? undefined : value);

/** `<issuer>#<client id>=<requests per second>,…` (the platform notation of `npm run admin -- --platform`). */
const rateOverrides = z.string().transform((value, ctx) => {
  const out = new Map<string, number>();
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = item.lastIndexOf('=');
    const platform = at > 0 ? item.slice(0, at) : '';
    const rate = Number(item.slice(at + 1));
    if (!/^[^#]+#[^#]+$/.test(platform) || !Number.isFinite(rate) || rate < 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be <issuer>#<client id>=<requests per second>,… (got "${item}")` });
      return z.NEVER;
    }
    out.set(platform, rate);
  }
  return out;
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ invalid_type_error: 'must be a whole number' }).int('must be a whole number').min(1).max(65535).default(3000),
  ),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  TOOL_URL: z.preprocess(emptyAsUndefined, z.string().url('must be an absolute URL such as https://coach.example.edu').optional()),
  MONGODB_URI: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
  ),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(fromRoot('.data'))),
  LTI_KEY: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  LOG_FORMAT: z.preprocess(emptyAsUndefined, z.enum(['auto', 'pretty', 'json']).default('auto')),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  MIGRATE_ON_START: z.preprocess(emptyAsUndefined, booleanFromEnv.default('true')),
  LTI_DYNREG_AUTO_ACTIVATE: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  LTI_DYNREG_REQUIRE_INVITE: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  PASSBACK_WORKER: z.preprocess(emptyAsUndefined, booleanFromEnv.default('true')),
  DEV_PLATFORM: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  DB_CONNECT_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(100).max(120000).default(5000)),
  PASSBACK_BASE_BACKOFF_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ invalid_type_error: 'must be a whole number' }).int('must be a whole number').min(1).max(3_600_000).default(2000),
  ),
  PASSBACK_LEASE_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ invalid_type_error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1000)
      .max(3_600_000)
      .default(60_000),
  ),
  PASSBACK_RATE_PER_SECOND: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ invalid_type_error: 'must be a number' }).min(0, 'must be 0 (unlimited) or more').max(100_000).default(1000),
  ),
  PASSBACK_RATE_OVERRIDES: z.preprocess(emptyAsUndefined, rateOverrides.default('')),
  COACHLTI_FAULT_POINT: z.preprocess(emptyAsUndefined, z.enum(faultPointNames).optional()),
  CHROMIUM_PATH: z.preprocess(emptyAsUndefined, z.string().optional()),
  TEST_PLATFORM_KEY_BITS: z.preprocess(emptyAsUndefined, z.enum(['2048', '3072', '4096']).optional()),
  DATA_ENCRYPTION_KEYS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseKeyList(v);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        }
      })
      .optional(),
  ),
  PRIVACY_SWEEP_INTERVAL_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ invalid_type_error: 'must be a whole number' })
      .int('must be a whole number')
      .min(0)
      .max(604_800_000)
      .default(3_600_000),
  ),
});

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  /** Public base URL without trailing slash, e.g. https://coach.example.edu */
  readonly toolUrl: string;
  /** True when cookies must be SameSite=None; Secure (tool served over https, typically in an LMS iframe). */
  readonly secureCookies: boolean;
  /** Unset means: start the embedded database. */
  readonly mongodbUri: string | undefined;
  readonly dataDir: string;
  readonly ltiKey: string;
  readonly sessionSecret: string;
  /** auto: pretty lines in development on a terminal, JSON otherwise (see logFormatFor). */
  readonly logFormat: 'auto' | 'pretty' | 'json';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly migrateOnStart: boolean;
  readonly dbConnectTimeoutMs: number;
  /** RSA size of the key pair generated per registered platform: 4096 except under NODE_ENV=test when asked. */
  readonly platformKeyBits: number;
  /** Platforms registered through Dynamic Registration are active at once (default: not in production). */
  readonly dynRegAutoActivate: boolean;
  /** Dynamic Registration needs an administrator's invite link (default: in production). */
  readonly dynRegRequireInvite: boolean;
  /** Run the grade passback worker in this process (several processes may run it). */
  readonly passbackWorker: boolean;
  /** First retry delay of a failed passback send (doubles per attempt, with jitter). */
  readonly passbackBaseBackoffMs: number;
  /** How long a worker holds a claimed outbox entry before another may take it over. */
  readonly passbackLeaseMs: number;
  /** AGS requests per second per platform (0: unlimited), and per-platform overrides keyed `<issuer>#<client id>`. */
  readonly passbackRatePerSecond: number;
  readonly passbackRateOverrides: ReadonlyMap<string, number>;
  /**
   * The built-in test platform at /dev/platform: anyone who reaches it can launch as anyone, so it runs
   * only outside production and, unless DEV_PLATFORM=true, only when TOOL_URL is a loopback address.
   */
  readonly devPlatformEnabled: boolean;
  /** Test only: the named step at which the process kills itself (crash-recovery tests). */
  readonly faultPoint: FaultPointName | undefined;
  /** `kid:base64key,…`, first = current: encrypts reflections and comments at rest (src/privacy/field-crypto.ts). */
  readonly dataEncryptionKeys: string;
  /** How often the retention sweep runs in the web process and the worker (0 = never). */
  readonly privacySweepIntervalMs: number;
  /** Headless Chromium for the program report's PDF; unset: `chromium` on the PATH, if any. */
  readonly chromiumPath: string | undefined;
}

type Env = Record<string, string | undefined>;

const devSecretsSchema = z.object({
  LTI_KEY: z.string().min(32),
  SESSION_SECRET: z.string().min(32),
  DATA_ENCRYPTION_KEYS: z.string().optional(),
});

/**
 * Development convenience: secrets are generated once and kept in DATA_DIR (git-ignored), so sessions
 * and ltijs's encrypted keys survive restarts. Production must provide them.
 */
function loadOrCreateDevSecrets(dataDir: string): z.infer<typeof devSecretsSchema> {
  const file = path.join(dataDir, 'dev-secrets.json');
  let existing: z.infer<typeof devSecretsSchema> | undefined;
  if (existsSync(file)) {
    const parsed = devSecretsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success && parsed.data.DATA_ENCRYPTION_KEYS) return parsed.data;
    if (parsed.success) existing = parsed.data;
  }
  // A file from before field encryption keeps its other secrets and gains a data key.
  const secrets = {
    LTI_KEY: existing?.LTI_KEY ?? randomBytes(32).toString('hex'),
    SESSION_SECRET: existing?.SESSION_SECRET ?? randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEYS: generateKeyEntry('dev1'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** localhost, 127.0.0.0/8 or [::1]: a URL only this machine can reach. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

export function loadConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(
      `Invalid configuration: ${variable} ${issue?.message ?? 'is invalid'} (got ${JSON.stringify(env[variable] ?? null)})`,
    );
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  let ltiKey = e.LTI_KEY;
  let sessionSecret = e.SESSION_SECRET;
  let dataEncryptionKeys = e.DATA_ENCRYPTION_KEYS;
  if (isProduction) {
    if (!ltiKey) throw new ConfigError('Invalid configuration: LTI_KEY is required in production (at least 32 random characters)');
    if (!sessionSecret)
      throw new ConfigError('Invalid configuration: SESSION_SECRET is required in production (at least 32 random characters)');
    if (!dataEncryptionKeys)
      throw new ConfigError(
        'Invalid configuration: DATA_ENCRYPTION_KEYS is required in production (<kid>:<base64 32-byte key>, e.g. k1:$(openssl rand -base64 32))',
      );
  } else if (!ltiKey || !sessionSecret || !dataEncryptionKeys) {
    const dev = loadOrCreateDevSecrets(e.DATA_DIR);
    ltiKey ??= dev.LTI_KEY;
    sessionSecret ??= dev.SESSION_SECRET;
    dataEncryptionKeys ??= dev.DATA_ENCRYPTION_KEYS;
  }
  if (!dataEncryptionKeys) throw new ConfigError('Invalid configuration: DATA_ENCRYPTION_KEYS could not be generated');
  if (isProduction && e.COACHLTI_FAULT_POINT)
    throw new ConfigError('Invalid configuration: COACHLTI_FAULT_POINT is for tests and must not be set in production');
  if (e.TEST_PLATFORM_KEY_BITS && e.NODE_ENV !== 'test')
    throw new ConfigError('Invalid configuration: TEST_PLATFORM_KEY_BITS is for tests and needs NODE_ENV=test');
  const toolUrl = (e.TOOL_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  if (isProduction && e.DEV_PLATFORM === true) {
    throw new ConfigError('Invalid configuration: DEV_PLATFORM cannot be true in production (anyone could launch as anyone)');
  }
  const devPlatformEnabled = !isProduction && (e.DEV_PLATFORM ?? isLoopbackUrl(toolUrl));
  return Object.freeze({
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    toolUrl,
    secureCookies: toolUrl.startsWith('https://'),
    mongodbUri: e.MONGODB_URI,
    dataDir: path.resolve(e.DATA_DIR),
    ltiKey,
    sessionSecret,
    logFormat: e.LOG_FORMAT,
    logLevel: e.LOG_LEVEL,
    migrateOnStart: e.MIGRATE_ON_START,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    platformKeyBits: Number(e.TEST_PLATFORM_KEY_BITS ?? 4096),
    // Auto-activation only where the test platform runs: a forgotten NODE_ENV on a public server stays safe.
    dynRegAutoActivate: e.LTI_DYNREG_AUTO_ACTIVATE ?? devPlatformEnabled,
    dynRegRequireInvite: e.LTI_DYNREG_REQUIRE_INVITE ?? isProduction,
    devPlatformEnabled,
    passbackWorker: e.PASSBACK_WORKER,
    passbackBaseBackoffMs: e.PASSBACK_BASE_BACKOFF_MS,
    passbackLeaseMs: e.PASSBACK_LEASE_MS,
    passbackRatePerSecond: e.PASSBACK_RATE_PER_SECOND,
    passbackRateOverrides: e.PASSBACK_RATE_OVERRIDES,
    faultPoint: e.COACHLTI_FAULT_POINT,
    dataEncryptionKeys,
    privacySweepIntervalMs: e.PRIVACY_SWEEP_INTERVAL_MS,
    chromiumPath: e.CHROMIUM_PATH,
  });
}
