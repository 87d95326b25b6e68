// @ts-check
// Shared steps for migrations that write the competency framework. Plain CommonJS so migrations run
// unchanged under tsx, jest and the compiled build (migrate-mongo records file names, which must not
// change between those modes).
const { readFileSync } = require('node:fs');
const path = require('node:path');

const frameworkFile = path.join(__dirname, '..', '..', 'src', 'competencies', 'framework-data.json');

/**
 * @typedef {{ id: string, uuid: string, name: string, summary: string }} CompetencyData
 * @typedef {{ id: string, uuid: string, name: string, competencies: CompetencyData[] }} DomainData
 * @typedef {{ frameworkUuid: string, domains: DomainData[] }} FrameworkData
 * @typedef {{ migrationId: string, name: string, summary?: string }} HistoryEntry
 * @typedef {{ _id: string, uuid?: string, name: string, summary?: string, domainId?: string, position?: number, frameworkUuid?: string, seededBy?: string, createdAt?: Date, updatedAt?: Date, history?: HistoryEntry[] }} FrameworkDoc
 */

/**
 * @param {import('mongodb').Db} db
 * @param {'competency_domains' | 'competencies'} name
 * @returns {import('mongodb').Collection<FrameworkDoc>}
 */
function collection(db, name) {
  return db.collection(name);
}

/** @returns {FrameworkData} */
function readFramework(file = frameworkFile) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * Inserts every domain and competency that is missing, tagged with the migration that added it.
 * Existing documents are left untouched, so re-running changes nothing.
 * @param {import('mongodb').Db} db
 * @param {FrameworkData} framework
 * @param {string} migrationId
 */
async function seedFramework(db, framework, migrationId) {
  const now = new Date();
  let position = 0;
  for (const [domainIndex, domain] of framework.domains.entries()) {
    await collection(db, 'competency_domains').updateOne(
      { _id: domain.id },
      {
        $setOnInsert: {
          uuid: domain.uuid,
          name: domain.name,
          position: domainIndex,
          frameworkUuid: framework.frameworkUuid,
          seededBy: migrationId,
          createdAt: now,
        },
      },
      { upsert: true },
    );
    for (const competency of domain.competencies) {
      await collection(db, 'competencies').updateOne(
        { _id: competency.id },
        {
          $setOnInsert: {
            uuid: competency.uuid,
            domainId: domain.id,
            name: competency.name,
            summary: competency.summary,
            position: position++,
            seededBy: migrationId,
            createdAt: now,
          },
        },
        { upsert: true },
      );
    }
  }
}

/**
 * Removes only the documents that seedFramework added under this migration id.
 * @param {import('mongodb').Db} db
 * @param {string} migrationId
 */
async function unseedFramework(db, migrationId) {
  await collection(db, 'competencies').deleteMany({ seededBy: migrationId });
  await collection(db, 'competency_domains').deleteMany({ seededBy: migrationId });
}

/**
 * Applies edited names and summaries from the data file (an institution renamed a competency),
 * keeping the previous text under `history` so `down` can restore it. Re-running changes nothing.
 * @param {import('mongodb').Db} db
 * @param {FrameworkData} framework
 * @param {string} migrationId
 */
async function applyFrameworkText(db, framework, migrationId) {
  for (const domain of framework.domains) {
    const current = await collection(db, 'competency_domains').findOne({ _id: domain.id });
    if (current && current.name !== domain.name) {
      await collection(db, 'competency_domains').updateOne(
        { _id: domain.id },
        { $set: { name: domain.name, updatedAt: new Date() }, $push: { history: { migrationId, name: current.name } } },
      );
    }
    for (const competency of domain.competencies) {
      const doc = await collection(db, 'competencies').findOne({ _id: competency.id });
      if (doc && (doc.name !== competency.name || doc.summary !== competency.summary)) {
        await collection(db, 'competencies').updateOne(
          { _id: competency.id },
          {
            $set: { name: competency.name, summary: competency.summary, updatedAt: new Date() },
            $push: { history: { migrationId, name: doc.name, summary: doc.summary } },
          },
        );
      }
    }
  }
}

/**
 * Restores the text that applyFrameworkText replaced under this migration id.
 * @param {import('mongodb').Db} db
 * @param {string} migrationId
 */
async function revertFrameworkText(db, migrationId) {
  for (const name of /** @type {const} */ (['competency_domains', 'competencies'])) {
    const docs = await collection(db, name).find({ 'history.migrationId': migrationId }).toArray();
    for (const doc of docs) {
      const history = doc.history ?? [];
      const entry = history.find((h) => h.migrationId === migrationId);
      if (!entry) continue;
      const restore = entry.summary === undefined ? { name: entry.name } : { name: entry.name, summary: entry.summary };
      await collection(db, name).updateOne({ _id: doc._id }, { $set: restore, $pull: { history: { migrationId } } });
    }
  }
}

module.exports = { readFramework, seedFramework, unseedFramework, applyFrameworkText, revertFrameworkText, frameworkFile };
