// @ts-check
// Attempts: at most one open attempt per coach, course and module, and one attempt per start form
// (double submission). Both keys are removed/absent when not needed, hence sparse.
/** @type {[string, Record<string, 1 | -1>, import('mongodb').CreateIndexesOptions][]} */
const indexes = [
  ['attempts', { openKey: 1 }, { unique: true, sparse: true, name: 'open_attempt_unique' }],
  ['attempts', { startKey: 1 }, { unique: true, sparse: true, name: 'start_key_unique' }],
  ['attempts', { userId: 1, courseId: 1, status: 1 }, { name: 'user_course_status' }],
  ['attempts', { courseId: 1, status: 1 }, { name: 'course_status' }],
  ['competency_scores', { userId: 1, courseId: 1 }, { unique: true, name: 'user_course_unique' }],
  ['domain_events', { type: 1, recordedAt: -1 }, { name: 'type_recorded' }],
];

module.exports = {
  /** @param {import('mongodb').Db} db */
  async up(db) {
    for (const [collection, keys, options] of indexes) {
      await db.collection(collection).createIndex(keys, options);
    }
  },
  /** @param {import('mongodb').Db} db */
  async down(db) {
    for (const [collection, , options] of indexes) {
      await db
        .collection(collection)
        .dropIndex(/** @type {string} */ (options.name))
        .catch(() => undefined);
    }
  },
};
