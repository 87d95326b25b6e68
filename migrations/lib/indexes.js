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

/**
 * True on the embedded mongo-java-server: its buildInfo has no `gitVersion`, which every MongoDB build reports
 * (buildInfo needs no privileges). A wrong answer costs little either way: indexes made for nothing, or the
 * embedded server scanning as it did before.
 * @param {import('mongodb').Db} db
 */
async function isEmbeddedServer(db) {
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.gitVersion !== 'string';
}

/**
 * Indexes that only the embedded server needs (it uses an index only when the filter's keys equal the index's
 * keys; MongoDB serves the same filters from the _id index): created there, skipped on MongoDB.
 * @param {IndexSpec[]} indexes
 */
function embeddedIndexMigration(indexes) {
  return {
    /** @param {import('mongodb').Db} db */
    up: async (db) => {
      if (await isEmbeddedServer(db)) await createIndexes(db, indexes);
    },
    /** @param {import('mongodb').Db} db */
    down: (db) => dropIndexes(db, indexes),
  };
}

module.exports = { createIndexes, dropIndexes, indexMigration, embeddedIndexMigration, isEmbeddedServer };
