// @ts-check
const { embeddedIndexMigration } = require('./lib/indexes');
// The outbox's compare-and-set writes filter on { _id, version } (a newer score replaces a queued one) and on
// { _id, version, lease.owner } (a worker records its send only if neither a newer score nor another worker
// took the entry). On MongoDB the _id index already serves both; the embedded mongo-java-server uses an index
// only when its keys equal the filter's keys, and otherwise scans the collection once per write (measured:
// 13,000 finishes over 13,000 entries spent most of the passback's time in those scans). Both indexes are
// unique because _id is.
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['passback_outbox', { _id: 1, version: 1 }, { unique: true, name: 'version_cas' }],
  ['passback_outbox', { _id: 1, version: 1, 'lease.owner': 1 }, { unique: true, name: 'guarded_finish' }],
];

// Only on the embedded server: on MongoDB they would be write cost for nothing.
module.exports = embeddedIndexMigration(indexes);
