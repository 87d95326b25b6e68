import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Where each platform's pages live, so CoachLTI's pages can be framed by its LMSs and by nobody else
 * (CSP frame-ancestors). The LMS page origin is not the issuer (every Canvas cloud instance has the issuer
 * canvas.instructure.com but lives at school.instructure.com), so it is learnt from accepted launches:
 * the Origin of the id_token POST and the launch's return URLs; issuer and authorization URL origins count too.
 */
export interface PlatformKey {
  issuer: string;
  clientId: string;
}

export interface FrameOrigins {
  /** Remembers origins seen in an accepted launch (at most `maxPerPlatform` per platform). */
  learn(platform: PlatformKey, candidates: (string | undefined)[]): Promise<void>;
  /** frame-ancestors sources for pages of this platform's launches. */
  forPlatform(platform: PlatformKey): Promise<string[]>;
  /** frame-ancestors sources for LTI pages outside a launch session (refusals, the launch POST). */
  forAnyPlatform(): Promise<string[]>;
}

const maxPerPlatform = 20;
const cacheMs = 60_000;

/** An https origin (http only for loopback hosts), exactly as a CSP source; otherwise undefined. */
export function frameOriginOf(value: string | undefined): string | undefined {
  if (!value || value === 'null') return undefined;
  try {
    const url = new URL(value);
    const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

export function createFrameOrigins(deps: {
  connection: Connection;
  /** Static origins of registered platforms (issuer and authorization URL). */
  registered(): Promise<{ issuer: string; clientId: string; authUrl: string }[]>;
}): FrameOrigins {
  interface OriginDoc {
    issuer: string;
    clientId: string;
    origin: string;
    firstSeenAt: Date;
  }
  const model: Model<OriginDoc> =
    deps.connection.models.LtiFrameOrigin ??
    deps.connection.model<OriginDoc>(
      'LtiFrameOrigin',
      new Schema<OriginDoc>(
        { issuer: String, clientId: String, origin: String, firstSeenAt: Date },
        { collection: 'lti_frame_origins', versionKey: false },
      ),
    );
  const keyOf = (p: PlatformKey) => `${p.issuer}\n${p.clientId}`;
  let cache: { at: number; byPlatform: Map<string, Set<string>>; all: Set<string> } | undefined;

  async function load(): Promise<NonNullable<typeof cache>> {
    if (cache && Date.now() - cache.at < cacheMs) return cache;
    const byPlatform = new Map<string, Set<string>>();
    const all = new Set<string>();
    const add = (p: PlatformKey, origin: string | undefined) => {
      if (!origin) return;
      const set = byPlatform.get(keyOf(p)) ?? new Set<string>();
      set.add(origin);
      byPlatform.set(keyOf(p), set);
      all.add(origin);
    };
    for (const p of await deps.registered()) {
      add(p, frameOriginOf(p.issuer));
      add(p, frameOriginOf(p.authUrl));
    }
    for (const doc of await model.find({}).limit(10_000).lean<OriginDoc[]>()) add(doc, doc.origin);
    cache = { at: Date.now(), byPlatform, all };
    return cache;
  }

  return {
    async learn(platform, candidates) {
      const known = (await load()).byPlatform.get(keyOf(platform)) ?? new Set<string>();
      const fresh = [...new Set(candidates.map(frameOriginOf).filter((o): o is string => o !== undefined))].filter((o) => !known.has(o));
      if (fresh.length === 0) return;
      const stored = await model.countDocuments({ issuer: platform.issuer, clientId: platform.clientId });
      for (const origin of fresh.slice(0, Math.max(0, maxPerPlatform - stored))) {
        await model.updateOne(
          { issuer: platform.issuer, clientId: platform.clientId, origin },
          { $setOnInsert: { firstSeenAt: new Date() } },
          { upsert: true },
        );
      }
      cache = undefined;
    },
    async forPlatform(platform) {
      return [...((await load()).byPlatform.get(keyOf(platform)) ?? [])];
    },
    async forAnyPlatform() {
      return [...(await load()).all];
    },
  };
}
