import { describe, expect, it } from 'vitest';
import { schemaPublishing } from '../../../../src/sources/postgres/schemaJoin.js';

describe('how tables created later in a whole selected schema join the publication', () => {
  it('PostgreSQL 15 and later with a superuser: FOR TABLES IN SCHEMA', () => {
    expect(schemaPublishing(150000, true)).toBe('inSchema');
    expect(schemaPublishing(170002, true)).toBe('inSchema');
  });
  it('older servers with a superuser: the event trigger', () => {
    expect(schemaPublishing(140011, true)).toBe('joinTrigger');
    expect(schemaPublishing(100000, true)).toBe('joinTrigger');
  });
  it('without a superuser, on any version: a fixed table list (the precheck warns)', () => {
    expect(schemaPublishing(150000, false)).toBe('fixed');
    expect(schemaPublishing(120000, false)).toBe('fixed');
  });
});
