// @ts-check
const { indexMigration } = require('./lib/indexes');
// Attempts: at most one open attempt per coach, course and module, and one attempt per start form
// (double submission). Both keys are removed/absent when not needed, hence sparse.
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['attempts', { openKey: 1 }, { unique: true, sparse: true, name: 'open_attempt_unique' }],
  ['attempts', { startKey: 1 }, { unique: true, sparse: true, name: 'start_key_unique' }],
  ['attempts', { userId: 1, courseId: 1, status: 1 }, { name: 'user_course_status' }],
  ['attempts', { courseId: 1, status: 1 }, { name: 'course_status' }],
  ['competency_scores', { userId: 1, courseId: 1 }, { unique: true, name: 'user_course_unique' }],
  ['domain_events', { type: 1, recordedAt: -1 }, { name: 'type_recorded' }],
];

module.exports = indexMigration(indexes);
