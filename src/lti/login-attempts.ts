import { Schema, type Connection, type Model } from 'mongoose';
import type { LoginParams } from './entry-params';

/**
 * Remembers each OIDC login initiation (oidc.ts) by its random `state`, with the nonce sent to the
 * platform: the launch's id_token must carry exactly that nonce, once. When the launch arrives
 * without the state cookie (third-party cookies blocked), the refusal page can offer to start the same
 * login again in a new top-level window, where the cookie works.
 */
export type { LoginParams };

export interface LoginAttempts {
  /** Remembers a login we answered with a redirect to the platform (one write). */
  record(state: string, nonce: string, params: LoginParams): Promise<void>;
  find(state: string): Promise<LoginParams | null>;
  /** The nonce sent to the platform with this state, or null when no such login was started. */
  nonceFor(state: string): Promise<string | null>;
  /**
   * Spends the login in one write: its state and the nonce it sent must match, and each login answers
   * one launch. 'mismatch' when no login sent this nonce with this state, 'replayed' when it was spent.
   */
  consume(state: string, nonce: string): Promise<LoginConsumption>;
}

export type LoginConsumption = 'consumed' | 'mismatch' | 'replayed';

export function createLoginAttempts(connection: Connection): LoginAttempts {
  interface AttemptDoc {
    state: string;
    nonce: string;
    params: LoginParams;
    createdAt: Date;
    usedAt?: Date;
  }
  const model: Model<AttemptDoc> =
    connection.models.LtiLoginAttempt ??
    connection.model<AttemptDoc>(
      'LtiLoginAttempt',
      new Schema<AttemptDoc>(
        { state: String, nonce: String, params: Object, createdAt: Date, usedAt: Date },
        { collection: 'lti_login_attempts', versionKey: false },
      ),
    );

  return {
    async record(state, nonce, params) {
      await model.create({ state, nonce, params, createdAt: new Date() });
    },
    async find(state) {
      const doc = await model.findOne({ state }).lean<AttemptDoc>();
      return doc ? doc.params : null;
    },
    async nonceFor(state) {
      const doc = await model.findOne({ state }, { nonce: 1 }).lean<Pick<AttemptDoc, 'nonce'>>();
      return doc?.nonce ?? null;
    },
    async consume(state, nonce) {
      const spent = await model
        .findOneAndUpdate({ state, nonce, usedAt: { $exists: false } }, { $set: { usedAt: new Date() } }, { projection: { _id: 1 } })
        .lean();
      if (spent) return 'consumed';
      // Only refusals pay a second read, to say which.
      const doc = await model.findOne({ state }, { nonce: 1, usedAt: 1 }).lean<Pick<AttemptDoc, 'nonce' | 'usedAt'>>();
      return doc && doc.nonce === nonce && doc.usedAt ? 'replayed' : 'mismatch';
    },
  };
}

/**
 * For a launch that arrives without the state cookie: the issuer of the login that issued this state, only
 * when the POST names an origin (browsers always do for form posts); the launch service then checks that
 * origin against the platform's signed URLs. No origin: undefined, and the launch is refused as before.
 */
export function cookielessIssuer(attempts: LoginAttempts) {
  return async (state: string, origin: string | undefined): Promise<string | undefined> => {
    if (!origin || origin === 'null') return undefined;
    return (await attempts.find(state))?.iss;
  };
}
