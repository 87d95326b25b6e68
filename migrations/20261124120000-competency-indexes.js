// @ts-check
// Indexes for the competency framework collections. createIndex is idempotent.
module.exports = {
  /** @param {import('mongodb').Db} db */
  async up(db) {
    await db.collection('competency_domains').createIndex({ uuid: 1 }, { unique: true, name: 'uuid_unique' });
    await db.collection('competency_domains').createIndex({ position: 1 }, { name: 'position' });
    await db.collection('competencies').createIndex({ uuid: 1 }, { unique: true, name: 'uuid_unique' });
    await db.collection('competencies').createIndex({ domainId: 1, position: 1 }, { name: 'domain_position' });
  },
  /** @param {import('mongodb').Db} db */
  async down(db) {
    /** @type {[string, string[]][]} */
    const indexes = [
      ['competency_domains', ['uuid_unique', 'position']],
      ['competencies', ['uuid_unique', 'domain_position']],
    ];
    for (const [collection, names] of indexes) {
      for (const name of names) {
        await db
          .collection(collection)
          .dropIndex(name)
          .catch(() => undefined);
      }
    }
  },
};
