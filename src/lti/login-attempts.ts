import type { RequestHandler } from 'express';
import { Schema, type Connection, type Model } from 'mongoose';
import { z } from 'zod';

/**
 * Remembers each OIDC login initiation by the `state` ltijs generates for it. When the launch then
 * arrives without the state cookie (third-party cookies blocked), the refusal page can offer to start
 * the same login again in a new top-level window, where the cookie works.
 */
const loginParamsSchema = z.object({
  iss: z.string().min(1),
  login_hint: z.string().min(1),
  target_link_uri: z.string().min(1),
  lti_message_hint: z.string().optional(),
  client_id: z.string().optional(),
  lti_deployment_id: z.string().optional(),
});
export type LoginParams = z.infer<typeof loginParamsSchema>;

export interface LoginAttempts {
  capture: RequestHandler;
  find(state: string): Promise<LoginParams | null>;
}

export function createLoginAttempts(connection: Connection): LoginAttempts {
  interface AttemptDoc {
    state: string;
    params: LoginParams;
    createdAt: Date;
  }
  const model: Model<AttemptDoc> =
    connection.models.LtiLoginAttempt ??
    connection.model<AttemptDoc>(
      'LtiLoginAttempt',
      new Schema<AttemptDoc>({ state: String, params: Object, createdAt: Date }, { collection: 'lti_login_attempts', versionKey: false }),
    );

  const capture: RequestHandler = (req, res, next) => {
    const parsed = loginParamsSchema.safeParse({
      ...(req.query as Record<string, unknown>),
      ...((req.body as Record<string, unknown> | undefined) ?? {}),
    });
    if (!parsed.success) {
      next();
      return;
    }
    const redirect = res.redirect.bind(res) as (url: string) => void;
    // ltijs answers a valid login with a redirect to the platform carrying the state it generated.
    (res as { redirect: (url: string) => void }).redirect = (url: string) => {
      let state: string | null = null;
      try {
        state = new URL(url).searchParams.get('state');
      } catch {
        state = null;
      }
      if (!state) {
        redirect(url);
        return;
      }
      model
        .create({ state, params: parsed.data, createdAt: new Date() })
        .then(() => redirect(url))
        .catch(next);
    };
    next();
  };

  return {
    capture,
    async find(state) {
      const doc = await model.findOne({ state }).lean<AttemptDoc>();
      return doc ? doc.params : null;
    },
  };
}
