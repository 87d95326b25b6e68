// @ts-check
const { indexMigration } = require('./lib/indexes');
// Grade passback: one outbox entry per course × learner × column, line items once per course × competency.
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['passback_outbox', { key: 1 }, { unique: true, name: 'key_unique' }],
  ['passback_outbox', { status: 1, nextAttemptAt: 1 }, { name: 'due' }],
  ['passback_outbox', { courseId: 1, userId: 1 }, { name: 'course_user' }],
  ['passback_outbox', { updatedAt: -1 }, { name: 'updated' }],
  ['course_line_items', { courseId: 1, competencyId: 1 }, { unique: true, name: 'course_competency_unique' }],
];

module.exports = indexMigration(indexes);
