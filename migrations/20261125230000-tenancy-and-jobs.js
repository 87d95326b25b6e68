// @ts-check
// Administrator scoping and background grading jobs.
// - Accounts created before scoping administered every platform: they get the global scope explicitly
//   (the app reads a missing or unreadable scope as "no platform").
// - The audit log is read per platform; background jobs are claimed oldest first, listed per course, and
//   at most one job per kind and course is active (unique sparse activeKey, unset when the job ends).
const { createIndexes, dropIndexes } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['admin_audit_log', { 'platform.issuer': 1, 'platform.clientId': 1, at: -1 }, { name: 'platform_at' }],
  ['admin_audit_log', { actor: 1, at: -1 }, { name: 'actor_at' }],
  ['grading_jobs', { activeKey: 1 }, { unique: true, sparse: true, name: 'active_unique' }],
  ['grading_jobs', { state: 1, createdAt: 1 }, { name: 'claim' }],
  ['grading_jobs', { courseId: 1, kind: 1, createdAt: -1 }, { name: 'course_kind' }],
  ['grading_jobs', { issuer: 1, clientId: 1, createdAt: -1 }, { name: 'platform_created' }],
];

module.exports = {
  /** @param {import('mongodb').Db} db */
  async up(db) {
    await db.collection('admin_accounts').updateMany({ scope: { $exists: false } }, { $set: { scope: { kind: 'global' } } });
    await createIndexes(db, indexes);
  },
  /** @param {import('mongodb').Db} db */
  async down(db) {
    await dropIndexes(db, indexes);
    // Earlier versions know no scopes; only the global ones this migration could have written are removed.
    await db.collection('admin_accounts').updateMany({ 'scope.kind': 'global' }, { $unset: { scope: '' } });
  },
};
