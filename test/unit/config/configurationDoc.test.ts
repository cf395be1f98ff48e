import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateConfigDocs } from '../../../src/config/docs.js';

/**
 * docs/configuration.md is what `tributary docs` prints from the composed task schema: every option,
 * type, default and description the code uses. A schema change without regenerating it fails here.
 */
describe('docs/configuration.md', () => {
  it('is exactly what `tributary docs` generates (regenerate: npx tsx src/cli/bin.ts docs > docs/configuration.md)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(generateConfigDocs());
  });
});
