// @ts-check
// Registration invites (listed newest first; looked up by _id, the token's hash) and registrations awaiting
// an administrator (listed by status, newest first). No TTL: spent and expired invites are kept as a record.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['lti_registration_invites', { createdAt: -1 }, { name: 'created_desc' }],
  ['lti_pending_registrations', { status: 1, createdAt: -1 }, { name: 'status_created' }],
  ['lti_pending_registrations', { issuer: 1, clientId: 1 }, { name: 'issuer_client' }],
];

module.exports = indexMigration(indexes);
