// @ts-check
const { indexMigration } = require('./lib/indexes');
// Batch claiming reads back the entries a worker won by their claim token (present only while leased).
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [['passback_outbox', { 'lease.claim': 1 }, { sparse: true, name: 'lease_claim' }]];

module.exports = indexMigration(indexes);
