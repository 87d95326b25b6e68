import { createHmac } from 'node:crypto';

/**
 * A stable display name for a person the LMS sent no name or email for (Canvas "anonymous", Moodle privacy
 * off): "Coach 7F3A9C", an HMAC of issuer and subject under a server secret, so it is the same on every
 * launch and cannot be turned back into the LMS user id without the secret.
 */
export function pseudonymFor(secret: string, issuer: string, sub: string): string {
  const digest = createHmac('sha256', secret).update(`coachlti-pseudonym\n${issuer}\n${sub}`).digest('hex');
  return `Coach ${digest.slice(0, 6).toUpperCase()}`;
}

/** True when the launch carried a real name (not the claim parser's "User <sub>" placeholder). */
export function launchSentName(user: { sub: string; name: string; givenName?: string; familyName?: string; email?: string }): boolean {
  if (user.givenName || user.familyName) return true;
  const name = user.name.trim();
  return name !== '' && name !== `User ${user.sub.slice(0, 8)}`.trim();
}
