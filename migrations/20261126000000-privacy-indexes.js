// @ts-check
// Privacy (issue 16): retention policies looked up per platform and per course, the coach's access trail
// (audit entries by subject, newest first) and the ratings a faculty member gave (export). No TTL: the
// retention sweep deletes texts and keeps scores, which an index cannot do.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['privacy_retention_policies', { kind: 1, issuer: 1, clientId: 1 }, { name: 'kind_platform' }],
  ['privacy_retention_policies', { kind: 1, courseId: 1 }, { name: 'kind_course' }],
  ['admin_audit_log', { subjectUserId: 1, at: -1 }, { name: 'subject_at', sparse: true }],
  ['attempts', { 'answers.facultyRatedBy': 1 }, { name: 'answers_rated_by', sparse: true }],
];

module.exports = indexMigration(indexes);
