import { z } from 'zod';
import { PlatformRequestError, scopes, type PlatformClient } from './platform-client';
import { shortRoleName } from './roles';

const memberSchema = z.object({
  user_id: z.string(),
  status: z.string().optional(),
  name: z.string().optional(),
  given_name: z.string().optional(),
  family_name: z.string().optional(),
  email: z.string().optional(),
  roles: z.array(z.string()).default([]),
});

const containerSchema = z.object({
  id: z.string().optional(),
  members: z.array(memberSchema),
});

export interface RosterMember {
  userId: string;
  name: string;
  email: string | undefined;
  roles: string[];
  status: 'Active' | 'Inactive' | 'Deleted';
}

/** Reads the `rel="next"` target of an RFC 8288 Link header. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (match?.[1] && /rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

/**
 * Names and Role Provisioning Services 2.0: the course roster, following `next` links, cached a few
 * minutes per course so a faculty dashboard does not page through the LMS on every view.
 */
export function createRosterService(deps: {
  client: PlatformClient;
  ttlMs?: number;
  now?: () => number;
  maxPages?: number;
  pageSize?: number;
}) {
  const ttl = deps.ttlMs ?? 5 * 60_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { at: number; members: RosterMember[] }>();

  async function fetchAll(platform: { issuer: string; clientId: string }, membershipsUrl: string): Promise<RosterMember[]> {
    const members: RosterMember[] = [];
    const first = new URL(membershipsUrl);
    // NRPS §2.4.2: the tool may ask for a page size; the platform's `next` links carry it on.
    if (!first.searchParams.has('limit')) first.searchParams.set('limit', String(deps.pageSize ?? 50));
    let url: string | undefined = first.toString();
    for (let page = 0; url && page < (deps.maxPages ?? 100); page += 1) {
      const res = await deps.client.request(platform, [scopes.nrps], url, {
        headers: { Accept: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json' },
      });
      const text = await res.text();
      if (!res.ok) throw new PlatformRequestError(`roster request failed with HTTP ${res.status}`, res.status, text.slice(0, 500));
      const parsed = containerSchema.parse(JSON.parse(text));
      for (const m of parsed.members) {
        members.push({
          userId: m.user_id,
          name: m.name ?? ([m.given_name, m.family_name].filter(Boolean).join(' ') || m.user_id),
          email: m.email,
          roles: m.roles.map(shortRoleName),
          status: m.status === 'Inactive' ? 'Inactive' : m.status === 'Deleted' ? 'Deleted' : 'Active',
        });
      }
      url = nextLink(res.headers.get('link'));
    }
    return members.sort((a, b) => a.name.localeCompare(b.name));
  }

  return {
    async roster(course: { id: string; issuer: string; clientId: string; membershipsUrl: string | undefined }): Promise<RosterMember[]> {
      if (!course.membershipsUrl) return [];
      const hit = cache.get(course.id);
      if (hit && now() - hit.at < ttl) return hit.members;
      const members = await fetchAll(course, course.membershipsUrl);
      cache.set(course.id, { at: now(), members });
      return members;
    },
  };
}

export type RosterService = ReturnType<typeof createRosterService>;
