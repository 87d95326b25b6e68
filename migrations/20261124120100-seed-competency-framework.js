// @ts-check
// Seeds the 13 competencies in 4 domains from src/competencies/framework-data.json.
// Later edits to names or summaries are applied by a new migration calling applyFrameworkText.
const { readFramework, seedFramework, unseedFramework } = require('./lib/framework');

const migrationId = '20261124120100-seed-competency-framework';

module.exports = {
  /** @param {import('mongodb').Db} db */
  async up(db) {
    await seedFramework(db, readFramework(), migrationId);
  },
  /** @param {import('mongodb').Db} db */
  async down(db) {
    await unseedFramework(db, migrationId);
  },
};
