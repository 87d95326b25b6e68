import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { z } from 'zod';
import { globalScope, readScope, type AdminScope } from './admin-scope';

/** Password administrators (sign-in outside the LMS). Accounts are created with `npm run admin -- create`. */
export interface AdminAccount {
  id: string;
  email: string;
  /** Global, or the platforms this administrator may see and act on. */
  scope: AdminScope;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
  lastLoginAt: Date | null;
}

interface AccountDoc {
  _id: Types.ObjectId;
  email: string;
  scope?: unknown;
  passwordHash: string;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
  lastLoginAt: Date | null;
}

export const bcryptCost = 12;
export const minPasswordLength = 12;
/** bcrypt reads only the first 72 bytes: a longer password would be silently truncated. */
export const maxPasswordBytes = 72;
export const lockoutThreshold = 5;
export const lockoutMs = 15 * 60_000;

export const emailSchema = z.string().trim().toLowerCase().max(254, 'is too long').email('is not a valid email address');

/** Why a password cannot be used, or undefined when it can. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < minPasswordLength) return `the password must be at least ${minPasswordLength} characters`;
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) return `the password must be at most ${maxPasswordBytes} bytes`;
  return undefined;
}

export class AccountExistsError extends Error {
  constructor(email: string) {
    super(`an admin account for ${email} already exists`);
    this.name = 'AccountExistsError';
  }
}

export class AccountNotFoundError extends Error {
  constructor(email: string) {
    super(`there is no admin account for ${email}`);
    this.name = 'AccountNotFoundError';
  }
}

export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** The result of checking a sign-in; `reason` is for the audit log only, never shown to the user. */
export type SignInResult =
  | { ok: true; account: AdminAccount }
  | { ok: false; email: string | undefined; reason: 'invalid-email' | 'unknown-email' | 'wrong-password' | 'locked' | 'locked-now' };

const toAccount = (d: AccountDoc): AdminAccount => ({
  id: d._id.toHexString(),
  email: d.email,
  // Accounts from before scoping get the global scope from a migration; anything unreadable is no scope.
  scope: readScope(d.scope),
  failedLogins: d.failedLogins ?? 0,
  lockedUntil: d.lockedUntil ?? null,
  createdAt: d.createdAt,
  lastLoginAt: d.lastLoginAt ?? null,
});

function parseEmail(email: string): string {
  const parsed = emailSchema.safeParse(email);
  if (!parsed.success) throw new InvalidInputError(`the email ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

/** Plain data for the database (no shared frozen objects, no extra fields). */
function storedScope(scope: AdminScope): AdminScope {
  return scope.kind === 'global'
    ? { kind: 'global' }
    : { kind: 'platforms', platforms: scope.platforms.map((p) => ({ issuer: p.issuer, clientId: p.clientId })) };
}

export function createAdminAccounts(connection: Connection, options: { now?: () => Date; cost?: number } = {}) {
  const now = options.now ?? (() => new Date());
  const cost = options.cost ?? bcryptCost;
  const schema = new Schema<AccountDoc>(
    {
      email: { type: String, required: true },
      scope: { type: Schema.Types.Mixed },
      passwordHash: { type: String, required: true },
      failedLogins: { type: Number, default: 0 },
      lockedUntil: { type: Date, default: null },
      createdAt: { type: Date, required: true },
      lastLoginAt: { type: Date, default: null },
    },
    { collection: 'admin_accounts', versionKey: false },
  );
  const model: Model<AccountDoc> =
    (connection.models.AdminAccount as Model<AccountDoc> | undefined) ?? connection.model<AccountDoc>('AdminAccount', schema);

  let dummyHash: Promise<string> | undefined;
  /** Unknown emails still cost one bcrypt comparison, so timing does not tell which emails exist. */
  const burnComparison = async (password: string): Promise<void> => {
    dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), cost);
    await bcrypt.compare(password, await dummyHash);
  };

  return {
    async create(email: string, password: string, scope: AdminScope = globalScope): Promise<AdminAccount> {
      const normalized = parseEmail(email);
      const problem = passwordProblem(password);
      if (problem) throw new InvalidInputError(problem);
      if (await model.exists({ email: normalized })) throw new AccountExistsError(normalized);
      const passwordHash = await bcrypt.hash(password, cost);
      try {
        const doc = await model.create({
          email: normalized,
          scope: storedScope(scope),
          passwordHash,
          failedLogins: 0,
          lockedUntil: null,
          createdAt: now(),
          lastLoginAt: null,
        });
        return toAccount(doc.toObject());
      } catch (error) {
        if ((error as { code?: number }).code === 11000) throw new AccountExistsError(normalized);
        throw error;
      }
    },

    async resetPassword(email: string, password: string): Promise<void> {
      const normalized = parseEmail(email);
      const problem = passwordProblem(password);
      if (problem) throw new InvalidInputError(problem);
      const passwordHash = await bcrypt.hash(password, cost);
      const result = await model.updateOne({ email: normalized }, { $set: { passwordHash, failedLogins: 0, lockedUntil: null } });
      if (result.matchedCount === 0) throw new AccountNotFoundError(normalized);
    },

    /** Replaces the account's scope; takes effect on the account's next request. */
    async setScope(email: string, scope: AdminScope): Promise<AdminAccount> {
      const normalized = parseEmail(email);
      const doc = await model
        .findOneAndUpdate({ email: normalized }, { $set: { scope: storedScope(scope) } }, { new: true })
        .lean<AccountDoc>();
      if (!doc) throw new AccountNotFoundError(normalized);
      return toAccount(doc);
    },

    async list(): Promise<AdminAccount[]> {
      return (await model.find({}).sort({ email: 1 }).lean<AccountDoc[]>()).map(toAccount);
    },

    async find(email: string): Promise<AdminAccount | null> {
      const parsed = emailSchema.safeParse(email);
      if (!parsed.success) return null;
      const doc = await model.findOne({ email: parsed.data }).lean<AccountDoc>();
      return doc ? toAccount(doc) : null;
    },

    /**
     * Checks a password. Five consecutive failures lock the account for 15 minutes; while locked even the
     * right password is refused (the caller shows the same message either way).
     */
    async verify(email: string, password: string): Promise<SignInResult> {
      const parsed = emailSchema.safeParse(email);
      if (!parsed.success) {
        await burnComparison(password);
        return { ok: false, email: undefined, reason: 'invalid-email' };
      }
      const normalized = parsed.data;
      const doc = await model.findOne({ email: normalized }).lean<AccountDoc>();
      if (!doc) {
        await burnComparison(password);
        return { ok: false, email: normalized, reason: 'unknown-email' };
      }
      const matches = await bcrypt.compare(password, doc.passwordHash);
      const at = now();
      if (doc.lockedUntil && doc.lockedUntil.getTime() > at.getTime()) return { ok: false, email: normalized, reason: 'locked' };
      if (matches) {
        await model.updateOne({ _id: doc._id }, { $set: { failedLogins: 0, lockedUntil: null, lastLoginAt: at } });
        return { ok: true, account: toAccount({ ...doc, failedLogins: 0, lockedUntil: null, lastLoginAt: at }) };
      }
      const updated = await model.findOneAndUpdate({ _id: doc._id }, { $inc: { failedLogins: 1 } }, { new: true }).lean<AccountDoc>();
      if ((updated?.failedLogins ?? 0) >= lockoutThreshold) {
        await model.updateOne({ _id: doc._id }, { $set: { failedLogins: 0, lockedUntil: new Date(at.getTime() + lockoutMs) } });
        return { ok: false, email: normalized, reason: 'locked-now' };
      }
      return { ok: false, email: normalized, reason: 'wrong-password' };
    },
  };
}

export type AdminAccounts = ReturnType<typeof createAdminAccounts>;
