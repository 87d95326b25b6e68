import type { AdminScope } from './admin-scope';

/** What a password sign-in leaves in the session (LTI administrators use `launch` instead). */
export interface AdminSession {
  email: string;
  /** Copied from the account at sign-in and refreshed from it on every admin request. */
  scope?: AdminScope;
}

declare module 'express-session' {
  interface SessionData {
    admin: AdminSession;
    /** One-shot notice shown on the next admin page (post/redirect/get). */
    adminNotice: string;
  }
}
