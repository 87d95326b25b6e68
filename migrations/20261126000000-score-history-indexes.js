// @ts-check
// Every competency score snapshot is kept (append-only): one document per learner × course × sequence version,
// read newest first per learner and course for the profile's history.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [['competency_score_history', { userId: 1, courseId: 1, version: 1 }, { name: 'learner_course_version', unique: true }]];

module.exports = indexMigration(indexes);
