// @ts-check
// Indexes for the competency framework collections.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['competency_domains', { uuid: 1 }, { unique: true, name: 'uuid_unique' }],
  ['competency_domains', { position: 1 }, { name: 'position' }],
  ['competencies', { uuid: 1 }, { unique: true, name: 'uuid_unique' }],
  ['competencies', { domainId: 1, position: 1 }, { name: 'domain_position' }],
];

module.exports = indexMigration(indexes);
