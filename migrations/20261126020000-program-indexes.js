// @ts-check
// Program dashboard: a period comparison reads the score history of the chosen courses within a date range.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [['competency_score_history', { courseId: 1, computedAt: 1 }, { name: 'course_computed' }]];

module.exports = indexMigration(indexes);
