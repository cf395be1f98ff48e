import { describe, expect, it } from 'vitest';
import { copyLine, parseCopyText, unescapeCopyText } from '../../../../src/sources/postgres/copyOut.js';
import { parserFor, PG_OID } from '../../../../src/sources/postgres/values.js';

describe('COPY text format rows', () => {
  const names = ['id', 'note', 'flag', 'raw', 'missing'];
  const parsers = [PG_OID.int4, PG_OID.text, PG_OID.bool, PG_OID.bytea, PG_OID.text].map(parserFor);

  it('splits fields on tabs, reads \\N as NULL and converts each value with its column parser', () => {
    const line = copyLine(Buffer.from('42\thello world\tt\t\\\\x00ff\t\\N\n'));
    expect(parseCopyText(line, names, parsers)).toEqual({ id: 42, note: 'hello world', flag: true, raw: Buffer.from([0, 255]), missing: null });
  });

  it('undoes the server\'s escapes (tab, newline, backslash, the other controls) and keeps the text \\N inside a value', () => {
    expect(unescapeCopyText('a\\tb\\nc\\\\d\\re\\bf\\fg\\vh')).toBe('a\tb\nc\\d\re\bf\fg\vh');
    const line = copyLine(Buffer.from('1\tsay \\\\N, tab\\there\tf\t\\\\x\t\\\\N\n'));
    expect(parseCopyText(line, names, parsers)).toEqual({ id: 1, note: 'say \\N, tab\there', flag: false, raw: Buffer.alloc(0), missing: '\\N' });
  });

  it('keeps UTF-8 text and empty strings (an empty field is not NULL)', () => {
    const line = copyLine(Buffer.from('7\tü 中 😀\tt\t\\\\x\t\n'));
    expect(parseCopyText(line, names, parsers)).toEqual({ id: 7, note: 'ü 中 😀', flag: true, raw: Buffer.alloc(0), missing: '' });
  });
});
