import { csvField, csvRow, EVENT_CSV_HEADER, eventCsvRow } from './csv';

describe('CSV encoding (RFC 4180)', () => {
  it.each<[string | number | null | undefined, string]>([
    ['plain', 'plain'],
    ['', ''],
    [null, ''],
    [undefined, ''],
    [42, '42'],
    [-0.5, '-0.5'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['line\nbreak', '"line\nbreak"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\n', '"crlf\r\n"'],
    ["it's fine; really", "it's fine; really"],
    [' padded ', ' padded '],
  ])('encodes %j as %j', (value, encoded) => {
    expect(csvField(value)).toBe(encoded);
  });

  it.each<[string, string]>([
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\tTAB', "'\tTAB"],
    ['\r=1', '"\'\r=1"'],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['a=b', 'a=b'],
  ])('neutralises the formula %j as %j (OWASP), never the numbers', (value, encoded) => {
    expect(csvField(value)).toBe(encoded);
    expect(csvField(-3)).toBe('-3');
  });

  it('joins fields with commas and ends records with CRLF', () => {
    expect(csvRow(['a', 'b,c', null, 1])).toBe('a,"b,c",,1\r\n');
  });

  it('writes the header row in the documented order', () => {
    expect(EVENT_CSV_HEADER).toBe('id,type,time,subject,apiKeyId,value,data,receivedAt\r\n');
  });

  it('writes an event with data as compact JSON, quoted, and empty fields for nulls', () => {
    expect(
      eventCsvRow({
        id: 'e1',
        type: 'tokens',
        time: '2026-05-01T10:00:00.000Z',
        subject: 'acme, "inc"',
        apiKeyId: null,
        value: 12.5,
        data: { tokens: 12.5, note: 'a "b"' },
        receivedAt: '2026-05-01T10:00:01.000Z',
      }),
    ).toBe(
      'e1,tokens,2026-05-01T10:00:00.000Z,"acme, ""inc""",,12.5,' +
        '"{""tokens"":12.5,""note"":""a \\""b\\""""}",2026-05-01T10:00:01.000Z\r\n',
    );
  });
});
