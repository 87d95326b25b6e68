// @ts-check
const { indexMigration } = require('./lib/indexes');
// Unique natural keys for LTI records (races between concurrent launches are settled by these),
// and TTL clean-up where real MongoDB supports it (the embedded server ignores TTL; nothing depends on it).
/** @type {import('./lib/indexes').IndexSpec[]} */
const indexes = [
  ['lti_platform_settings', { issuer: 1, clientId: 1 }, { unique: true, name: 'issuer_client_unique' }],
  ['lti_nonces', { issuer: 1, nonce: 1 }, { unique: true, name: 'issuer_nonce_unique' }],
  ['lti_nonces', { createdAt: 1 }, { expireAfterSeconds: 86400, name: 'created_ttl' }],
  ['lti_login_attempts', { state: 1 }, { unique: true, name: 'state_unique' }],
  ['lti_login_attempts', { createdAt: 1 }, { expireAfterSeconds: 3600, name: 'created_ttl' }],
  ['users', { issuer: 1, clientId: 1, sub: 1 }, { unique: true, name: 'platform_sub_unique' }],
  ['courses', { issuer: 1, clientId: 1, contextId: 1 }, { unique: true, name: 'platform_context_unique' }],
  ['memberships', { courseId: 1, userId: 1 }, { unique: true, name: 'course_user_unique' }],
  ['resource_links', { courseId: 1, resourceLinkId: 1 }, { unique: true, name: 'course_link_unique' }],
];

module.exports = indexMigration(indexes);
