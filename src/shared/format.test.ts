import { formatDate, formatDateTime, formatLevel, formatScore, scoreOutOf100 } from './format';

describe('formatting for people', () => {
  test('when a score has decimals, then it is shown as a whole number rounded down, the same everywhere', () => {
    expect(formatScore(36.11)).toBe('36');
    expect(formatScore(36.1)).toBe('36');
    expect(formatScore(36)).toBe('36');
    expect(formatScore(39.99)).toBe('39');
    expect(formatScore(65)).toBe('65');
    expect(formatScore(64.99999999999)).toBe('65');
    expect(formatScore(100)).toBe('100');
    expect(scoreOutOf100(78.4)).toBe('78 / 100');
  });

  test('when a level is written in any casing, then it is shown in sentence case', () => {
    expect(formatLevel('novice')).toBe('Novice');
    expect(formatLevel('NOVICE')).toBe('Novice');
    expect(formatLevel('proficient')).toBe('Proficient');
  });

  test('when a time is shown, then it reads as day, month, year and UTC time', () => {
    expect(formatDateTime(new Date('2026-11-25T14:03:59.123Z'))).toBe('25 Nov 2026, 14:03 UTC');
    expect(formatDateTime(new Date('2026-01-05T04:09:00Z'))).toBe('5 Jan 2026, 04:09 UTC');
    expect(formatDate(new Date('2026-12-31T23:59:59Z'))).toBe('31 Dec 2026');
  });
});
