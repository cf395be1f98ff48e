import { describe, expect, it } from 'vitest';
import { detectLookalike, isDocumentDb } from '../../../../src/sources/mongodb/precheck.js';

describe('MongoDB source look-alikes', () => {
  it('non-elastic Amazon DocumentDB is accepted (read by change streams as a sharded cluster); elastic clusters and Cosmos DB are not', () => {
    const docdb = 'mongodb://u:p@docs.cluster-abc.eu-west-1.docdb.amazonaws.com:27017/?tls=true';
    expect(isDocumentDb(docdb, { setName: 'rs0' })).toBe(true);
    expect(detectLookalike(docdb, { setName: 'rs0' })).toBeNull();
    expect(isDocumentDb('mongodb://h:27017', { hosts: ['docs-1.abc.eu-west-1.docdb.amazonaws.com:27017'] })).toBe(true);
    expect(detectLookalike('mongodb://c-1.eu-west-1.docdb-elastic.amazonaws.com:27017', {})).toBe('an Amazon DocumentDB elastic cluster');
    expect(isDocumentDb('mongodb://c-1.eu-west-1.docdb-elastic.amazonaws.com:27017', {})).toBe(false);
    expect(detectLookalike('mongodb://a.documents.azure.com:10255', {})).toBe('Azure Cosmos DB for MongoDB');
    expect(detectLookalike('mongodb://127.0.0.1:27017', { setName: 'rs0' })).toBeNull();
  });
});
