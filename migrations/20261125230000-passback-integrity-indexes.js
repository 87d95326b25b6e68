// @ts-check
const { indexMigration } = require('./lib/indexes');
// Recoverable passback: the sweeper looks up attempts and recompute requests whose scores are still owed
// (sparse: the mark exists only between the write that owes scores and the outbox write that pays them).
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['attempts', { 'scoresOwed.at': 1 }, { sparse: true, name: 'scores_owed' }],
  ['score_sequences', { 'request.at': 1 }, { sparse: true, name: 'recompute_requested' }],
  ['resource_links', { courseId: 1, moduleId: 1 }, { name: 'course_module' }],
];

module.exports = indexMigration(indexes);
