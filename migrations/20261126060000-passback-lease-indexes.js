// @ts-check
const { embeddedIndexMigration } = require('./lib/indexes');
// Claiming, renewing and handing back leases write one entry at a time by _id with a guard: { _id, status,
// lease.owner } (take it only if still pending and free) and { _id, lease.owner } (only while this worker holds
// it). On MongoDB the _id index serves them; the embedded mongo-java-server uses an index only when its keys
// equal the filter's keys, and the former updateMany({ _id: { $in: [...] }, ... }) forms scanned the outbox
// comparing every entry with every id (most of its CPU during a 13,000-score passback). Unique because _id is.
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['passback_outbox', { _id: 1, 'lease.owner': 1 }, { unique: true, name: 'leased_by' }],
  ['passback_outbox', { _id: 1, status: 1, 'lease.owner': 1 }, { unique: true, name: 'free_claim' }],
];

// Only on the embedded server: on MongoDB they would be write cost for nothing.
module.exports = embeddedIndexMigration(indexes);
