import { presentFeedback } from './coach-feedback';

describe('feedback that reaches the coach', () => {
  const day = (d: number) => new Date(Date.UTC(2026, 10, d));
  const ratings = [
    { at: day(2), title: 'M01 · M01.R1', level: 'developing' as const, comment: 'Ask before advising.' },
    { at: day(5), title: 'M01 · M01.R2', level: 'proficient' as const, comment: 'Clear next steps.' },
    { at: day(6), title: 'M02 · M02.R1', level: 'proficient' as const, comment: 'Good summary.' },
  ];
  const observations = [{ at: day(7), title: 'Observation', result: 'C2.4 Proficient', comment: 'Open questions.' }];

  test('when two comments and an observation arrived after the last visit, then the summary says "2 new comments, 1 new observation" and lists newest first', () => {
    const f = presentFeedback(ratings, observations, day(3));
    expect(f.summary).toBe('2 new comments, 1 new observation');
    expect(f.items.map((i) => i.at)).toEqual([day(7), day(6), day(5), day(2)]);
    expect(f.items.filter((i) => i.isNew)).toHaveLength(3);
  });

  test('when nothing arrived since the last visit, then there is no summary; on a first visit everything is new', () => {
    expect(presentFeedback(ratings, observations, day(8)).summary).toBeUndefined();
    expect(presentFeedback(ratings.slice(0, 1), [], undefined).summary).toBe('1 new comment');
  });
});
