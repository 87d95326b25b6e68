import { stringify } from 'csv-stringify/sync';

/** RFC 4180 CSV with CRLF line ends; every field that needs it is quoted by csv-stringify. */
export function toCsv(rows: readonly (readonly string[])[]): string {
  // A bare LF inside a field must be quoted too, not only the record delimiter.
  return stringify(rows as string[][], { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
}

export class CsvParseError extends Error {}

/**
 * A small RFC 4180 reader: fields separated by commas, records by CRLF or LF, quoted fields may hold
 * commas, line breaks and doubled quotes. A final line break does not start an empty record.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  let fieldStarted = false;
  const endField = (): void => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRecord = (): void => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n')
          throw new CsvParseError(`unexpected character after a closing quote at offset ${i}`);
        continue;
      }
      field += ch;
      i += 1;
      continue;
    }
    if (ch === '"') {
      if (fieldStarted || field !== '') throw new CsvParseError(`quote inside an unquoted field at offset ${i}`);
      quoted = true;
      fieldStarted = true;
      i += 1;
    } else if (ch === ',') {
      endField();
      i += 1;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      endRecord();
      i += 2;
    } else if (ch === '\n') {
      endRecord();
      i += 1;
    } else {
      field += ch;
      fieldStarted = true;
      i += 1;
    }
  }
  if (quoted) throw new CsvParseError('unterminated quoted field');
  if (fieldStarted || field !== '' || row.length > 0) endRecord();
  return rows;
}
