import mongoose from 'mongoose';
import { createCompetencyRepository } from '../../src/competencies/competency-repository';
import { testDatabaseUri } from '../support/test-server';

describe('framework reads', () => {
  const connection = mongoose.createConnection(testDatabaseUri('frameworkcache'));
  afterAll(async () => {
    await connection.close();
  });

  test('when the framework is read again within the bound, then the first read is reused; an empty framework is never kept', async () => {
    const repository = createCompetencyRepository(connection, { cacheMs: 60_000 });
    // Before the first migration: nothing there, and nothing remembered.
    expect((await repository.loadFramework()).domains).toEqual([]);
    await connection.collection('competency_domains').insertOne({ _id: 'D1' as never, uuid: 'u-d1', name: 'Domain one', position: 1 });
    await connection
      .collection('competencies')
      .insertOne({ _id: 'C1.1' as never, uuid: 'u-c11', domainId: 'D1', name: 'First', summary: 's', position: 1 });
    expect((await repository.loadFramework()).domains.map((d) => d.name)).toEqual(['Domain one']);

    await connection.collection('competency_domains').updateOne({ _id: 'D1' as never }, { $set: { name: 'Renamed' } });
    expect((await repository.loadFramework()).domains.map((d) => d.name)).toEqual(['Domain one']);
    // Without the cache (or once the bound has passed) the change is read.
    expect((await createCompetencyRepository(connection, { cacheMs: 0 }).loadFramework()).domains.map((d) => d.name)).toEqual(['Renamed']);
  });
});
