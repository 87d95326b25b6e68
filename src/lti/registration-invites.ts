import { createHash, randomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Single-use, expiring Dynamic Registration invitations. Only the SHA-256 of a token is stored. An invite
 * moves open → claimed (one registration in progress, with a lease) → used, or back to open when that
 * registration fails; every step is one conditional update, so two platforms racing for one invite cannot
 * both register (no transactions needed).
 */

export const defaultInviteHours = 7 * 24;
export const maxInviteHours = 90 * 24;
/** A claim older than this is considered abandoned (the process died mid-registration). */
const claimLeaseMs = 2 * 60_000;

/** Invite tokens are 43 base64url characters; anything else is refused before a lookup. */
export const inviteTokenPattern = /^[A-Za-z0-9_-]{32,100}$/;

export type InviteStatus = 'open' | 'used' | 'expired' | 'revoked';

export interface InviteSummary {
  id: string;
  createdAt: Date;
  createdBy: string;
  note: string | undefined;
  expiresAt: Date;
  status: InviteStatus;
  usedAt: Date | undefined;
  /** What the registration produced: "issuer (client id)" and whether it waits for approval. */
  usedFor: string | undefined;
}

interface InviteDoc {
  _id: string;
  createdAt: Date;
  createdBy: string;
  note?: string;
  expiresAt: Date;
  claimedAt: Date | null;
  claimId: string | null;
  usedAt: Date | null;
  usedFor: string | null;
  revokedAt: Date | null;
}

export type ClaimResult =
  { ok: true; inviteId: string; claimId: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'revoked' | 'busy' };

export interface RegistrationInvites {
  create(input: { createdBy: string; note?: string; expiresInHours?: number }): Promise<{ token: string; id: string; expiresAt: Date }>;
  /** Reserves the invite for one registration attempt; then `complete` or `release` it. */
  claim(token: string): Promise<ClaimResult>;
  complete(claim: { inviteId: string; claimId: string }, usedFor: string): Promise<boolean>;
  release(claim: { inviteId: string; claimId: string }): Promise<void>;
  revoke(id: string): Promise<boolean>;
  list(limit?: number): Promise<InviteSummary[]>;
}

export function hashInviteToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The URL an LMS administrator pastes into Canvas or Moodle. */
export function inviteUrl(registerUrl: string, token: string): string {
  return `${registerUrl}?invite=${encodeURIComponent(token)}`;
}

function statusOf(doc: InviteDoc, now: Date): InviteStatus {
  if (doc.usedAt) return 'used';
  if (doc.revokedAt) return 'revoked';
  if (doc.expiresAt <= now) return 'expired';
  return 'open';
}

export function createRegistrationInvites(connection: Connection, options: { now?: () => Date } = {}): RegistrationInvites {
  const now = options.now ?? (() => new Date());
  const model: Model<InviteDoc> =
    (connection.models.LtiRegistrationInvite as Model<InviteDoc> | undefined) ??
    connection.model<InviteDoc>(
      'LtiRegistrationInvite',
      new Schema<InviteDoc>(
        {
          _id: { type: String, required: true },
          createdAt: { type: Date, required: true },
          createdBy: { type: String, required: true },
          note: String,
          expiresAt: { type: Date, required: true },
          claimedAt: { type: Date, default: null },
          claimId: { type: String, default: null },
          usedAt: { type: Date, default: null },
          usedFor: { type: String, default: null },
          revokedAt: { type: Date, default: null },
        },
        { collection: 'lti_registration_invites', versionKey: false },
      ),
    );

  return {
    async create(input) {
      const hours = Math.min(Math.max(input.expiresInHours ?? defaultInviteHours, 1 / 60), maxInviteHours);
      const token = randomBytes(32).toString('base64url');
      const id = hashInviteToken(token);
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + hours * 3600_000);
      await model.create({
        _id: id,
        createdAt,
        createdBy: input.createdBy.slice(0, 300),
        ...(input.note ? { note: input.note.slice(0, 500) } : {}),
        expiresAt,
        claimedAt: null,
        claimId: null,
        usedAt: null,
        usedFor: null,
        revokedAt: null,
      });
      return { token, id, expiresAt };
    },

    async claim(token) {
      if (!inviteTokenPattern.test(token)) return { ok: false, reason: 'unknown' };
      const id = hashInviteToken(token);
      const at = now();
      const claimId = randomBytes(12).toString('hex');
      const claimed = await model
        .findOneAndUpdate(
          {
            _id: id,
            usedAt: null,
            revokedAt: null,
            expiresAt: { $gt: at },
            $or: [{ claimedAt: null }, { claimedAt: { $lt: new Date(at.getTime() - claimLeaseMs) } }],
          },
          { $set: { claimedAt: at, claimId } },
          { new: true },
        )
        .lean<InviteDoc>();
      if (claimed) return { ok: true, inviteId: id, claimId };
      const doc = await model.findById(id).lean<InviteDoc>();
      if (!doc) return { ok: false, reason: 'unknown' };
      const status = statusOf(doc, at);
      return { ok: false, reason: status === 'open' ? 'busy' : status };
    },

    async complete(claim, usedFor) {
      const result = await model.updateOne(
        { _id: claim.inviteId, claimId: claim.claimId, usedAt: null },
        { $set: { usedAt: now(), usedFor: usedFor.slice(0, 500) } },
      );
      return result.modifiedCount === 1;
    },

    async release(claim) {
      await model.updateOne({ _id: claim.inviteId, claimId: claim.claimId, usedAt: null }, { $set: { claimedAt: null, claimId: null } });
    },

    async revoke(id) {
      if (!/^[a-f0-9]{64}$/.test(id)) return false;
      const result = await model.updateOne({ _id: id, usedAt: null, revokedAt: null }, { $set: { revokedAt: now() } });
      return result.modifiedCount === 1;
    },

    async list(limit = 50) {
      const at = now();
      const docs = await model.find().sort({ createdAt: -1 }).limit(limit).lean<InviteDoc[]>();
      return docs.map((d) => ({
        id: d._id,
        createdAt: d.createdAt,
        createdBy: d.createdBy,
        note: d.note ?? undefined,
        expiresAt: d.expiresAt,
        status: statusOf(d, at),
        usedAt: d.usedAt ?? undefined,
        usedFor: d.usedFor ?? undefined,
      }));
    },
  };
}
