// @ts-check
// Grade passback: one outbox entry per course × learner × column, line items once per course × competency.
/** @type {[string, Record<string, 1 | -1>, import('mongodb').CreateIndexesOptions][]} */
const indexes = [
  ['passback_outbox', { key: 1 }, { unique: true, name: 'key_unique' }],
  ['passback_outbox', { status: 1, nextAttemptAt: 1 }, { name: 'due' }],
  ['passback_outbox', { courseId: 1, userId: 1 }, { name: 'course_user' }],
  ['passback_outbox', { updatedAt: -1 }, { name: 'updated' }],
  ['course_line_items', { courseId: 1, competencyId: 1 }, { unique: true, name: 'course_competency_unique' }],
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
