import { parseCourseTerm, parseLmsDate } from '../../src/courses/course-term';

describe('term and course dates from LTI custom parameters', () => {
  test('when Canvas sends its expanded term, then the name and both dates are kept (Canvas "YYYY-MM-DD hh:mm:ss -0700" form)', () => {
    expect(
      parseCourseTerm({ term_name: ' Spring 2026 ', term_start: '2018-01-12 00:00:00 -0700', term_end: '2018-05-30 23:59:00 -0600' }),
    ).toEqual({
      termName: 'Spring 2026',
      termStart: new Date('2018-01-12T07:00:00.000Z'),
      termEnd: new Date('2018-05-31T05:59:00.000Z'),
    });
  });

  test('when Moodle sends ISO 8601 course dates, then they are kept', () => {
    expect(parseCourseTerm({ course_start: '2026-01-12T00:00:00+01:00', course_end: '2026-06-30' })).toEqual({
      courseStart: new Date('2026-01-11T23:00:00.000Z'),
      courseEnd: new Date('2026-06-30T00:00:00.000Z'),
    });
    expect(parseLmsDate('2026-03-01T10:20:30.123Z')).toEqual(new Date('2026-03-01T10:20:30Z'));
    // Older Moodle: Unix seconds.
    expect(parseLmsDate('1770000000')).toEqual(new Date(1_770_000_000_000));
  });

  test('when a variable comes back unexpanded or empty, then it is ignored', () => {
    expect(
      parseCourseTerm({
        term_name: '$Canvas.term.name',
        term_start: '$Canvas.term.startAt',
        term_end: '',
        course_start: '   ',
        course_end: '$CourseSection.timeFrame.end',
      }),
    ).toEqual({});
  });

  test('when a date is malformed, then only that value is dropped', () => {
    for (const bad of [
      '2026-02-30',
      '2026-13-01',
      'tomorrow',
      '12/01/2026',
      '2026-01-01T25:00:00Z',
      '1890-01-01',
      '2026-01-01 00:00:00 -07',
    ])
      expect(parseCourseTerm({ term_name: 'Fall', term_start: bad })).toEqual({ termName: 'Fall' });
  });

  test('when a value is absurdly long, then it is ignored', () => {
    expect(parseCourseTerm({ term_name: 'x'.repeat(121), term_start: `2026-01-01${' '.repeat(40)}` })).toEqual({});
    expect(parseCourseTerm({ term_name: 'x'.repeat(120) })).toEqual({ termName: 'x'.repeat(120) });
  });

  test('when a term ends before it starts, then neither end is kept', () => {
    expect(parseCourseTerm({ term_start: '2026-06-01', term_end: '2026-01-01', course_start: '2026-01-01' })).toEqual({
      courseStart: new Date('2026-01-01T00:00:00Z'),
    });
  });
});
