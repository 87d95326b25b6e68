// @ts-check
// Administrator accounts (one per email) and the audit log, newest first.
const { indexMigration } = require('./lib/indexes');

/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['admin_accounts', { email: 1 }, { unique: true, name: 'email_unique' }],
  ['admin_audit_log', { at: -1 }, { name: 'at_desc' }],
];

module.exports = indexMigration(indexes);
