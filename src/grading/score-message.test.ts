import {
  backoffMs,
  classifyResponse,
  competencyComment,
  competencyScoreFields,
  retryAfterMs,
  scoreBody,
  serviceUrl,
} from './score-message';

describe('AGS score messages', () => {
  test('when a line item URL has a query string, then /scores goes before it', () => {
    expect(serviceUrl('https://lms.example/api/lti/courses/1/line_items/7?type_id=3', 'scores')).toBe(
      'https://lms.example/api/lti/courses/1/line_items/7/scores?type_id=3',
    );
    expect(serviceUrl('https://lms.example/mod/lti/services.php/2/lineitems/9/lineitem', 'results')).toBe(
      'https://lms.example/mod/lti/services.php/2/lineitems/9/lineitem/results',
    );
  });

  test('when the platform is Canvas, then the submission extension carries new_submission; otherwise it is absent', () => {
    const score = {
      scoreGiven: 78.25,
      activityProgress: 'Completed' as const,
      gradingProgress: 'FullyGraded' as const,
      comment: 'c',
      timestamp: '2026-11-24T10:00:00.123Z',
    };
    expect(scoreBody({ userSub: 'u1', score, canvas: true, newSubmission: false })).toEqual({
      userId: 'u1',
      scoreGiven: 78.25,
      scoreMaximum: 100,
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded',
      timestamp: '2026-11-24T10:00:00.123Z',
      comment: 'c',
      'https://canvas.instructure.com/lti/submission': { new_submission: false },
    });
    expect(scoreBody({ userSub: 'u1', score, canvas: false, newSubmission: true })).not.toHaveProperty([
      'https://canvas.instructure.com/lti/submission',
    ]);
  });

  test.each([
    [200, '', null, 'sent'],
    [204, '', null, 'sent'],
    [500, 'boom', null, 'retry'],
    [502, '', null, 'retry'],
    [401, '', null, 'failed'],
    [429, '', '2', 'retry'],
    [503, '', null, 'retry'],
    [409, 'timestamp not newer', null, 'superseded'],
    [400, 'Timestamp is older than the last update', null, 'superseded'],
    [422, 'User not found in course or is not a student', null, 'skipped'],
    [404, 'line item not found', null, 'skipped'],
    [400, 'scoreGiven must be a number', null, 'failed'],
    [403, 'forbidden', null, 'failed'],
    [403, '403 Forbidden (Rate Limit Exceeded)', null, 'retry'],
  ])('when the platform answers %i %j, then the outcome is %s', (status, body, retryAfter, kind) => {
    expect(classifyResponse(status, body, retryAfter, 0).kind).toBe(kind);
  });

  test('when Retry-After is given in seconds or as a date, then the delay honours it', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(classifyResponse(429, '', '7', 0)).toEqual({ kind: 'retry', delayMs: 7000, reason: 'HTTP 429' });
  });

  test('when attempts grow, then backoff doubles within jitter bounds and stops at the cap', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });

  test('when a competency comment is written, then it states level, rounded score and basis', () => {
    expect(competencyComment(78.4, 'proficient', 3)).toBe('Proficient · 78/100 · from 3 modules');
    expect(competencyComment(40, 'developing', 1)).toBe('Developing · 40/100 · from 1 module');
  });
});

describe('what the LMS receives for a competency', () => {
  const base = { modules: ['M06', 'M10'], pendingFacultyRating: false };
  test('when the evidence is insufficient, then no number is sent, the comment says what is missing, and the body has no scoreGiven or scoreMaximum', () => {
    const fields = competencyScoreFields({ ...base, status: 'insufficient-evidence', missing: '2 of 3 items' });
    expect(fields).toEqual({ gradingProgress: 'FullyGraded', comment: 'Insufficient evidence · 2 of 3 items · from 2 modules' });
    const body = scoreBody({
      userSub: 'u1',
      score: { ...fields, activityProgress: 'InProgress', timestamp: '2026-11-26T00:00:00.000Z' },
      canvas: false,
      newSubmission: true,
    });
    expect(body).not.toHaveProperty('scoreGiven');
    expect(body).not.toHaveProperty('scoreMaximum');
  });

  test('when reflections await a rating, then PendingManual is sent, with a number only if the evidence suffices', () => {
    expect(competencyScoreFields({ ...base, pendingFacultyRating: true, status: 'insufficient-evidence', missing: 'x' })).toMatchObject({
      gradingProgress: 'PendingManual',
    });
    expect(competencyScoreFields({ ...base, pendingFacultyRating: true, status: 'scored', score: 72, level: 'proficient' })).toEqual({
      scoreGiven: 72,
      gradingProgress: 'PendingManual',
      comment: 'Proficient · 72/100 · from 2 modules · reflections awaiting faculty rating',
    });
  });
});
