// @ts-check
// Index migrations share this: createIndex is idempotent, and `down` drops exactly the named indexes.

/** @typedef {[string, Record<string, 1 | -1>, import('mongodb').CreateIndexesOptions & { name: string }]} IndexSpec */

/**
 * @param {import('mongodb').Db} db
 * @param {IndexSpec[]} indexes
 */
async function createIndexes(db, indexes) {
  for (const [collection, keys, options] of indexes) {
    await db.collection(collection).createIndex(keys, options);
  }
}

/**
 * @param {import('mongodb').Db} db
 * @param {IndexSpec[]} indexes
 */
async function dropIndexes(db, indexes) {
  for (const [collection, , options] of indexes) {
    await db
      .collection(collection)
      .dropIndex(options.name)
      .catch(() => undefined);
  }
}

/**
 * A migration module that creates the indexes going up and drops them going down.
 * @param {IndexSpec[]} indexes
 */
function indexMigration(indexes) {
  return {
    /** @param {import('mongodb').Db} db */
    up: (db) => createIndexes(db, indexes),
    /** @param {import('mongodb').Db} db */
    down: (db) => dropIndexes(db, indexes),
  };
}

module.exports = { createIndexes, dropIndexes, indexMigration };
