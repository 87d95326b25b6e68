// @ts-check
// Faculty workspace: observations per coach × course (drill-down, scoring), owed observations for the sweeper,
// one "feedback seen" document per coach × course, and one module assignment document per course.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['observations', { userId: 1, courseId: 1, observedOn: 1 }, { name: 'coach_course_observed' }],
  ['observations', { 'owed.at': 1 }, { name: 'owed_at', sparse: true }],
  ['feedback_seen', { userId: 1, courseId: 1 }, { name: 'coach_course', unique: true }],
  ['course_assignments', { courseId: 1 }, { name: 'course', unique: true }],
];

module.exports = indexMigration(indexes);
