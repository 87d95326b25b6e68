import { carryLaunchToken, withLaunchToken } from './launch-context';

const token = 'T0k3n_-';

describe('carrying the launch token', () => {
  test('when a path has a query or a fragment, then the token is added before the fragment with the right separator', () => {
    expect(withLaunchToken('/training', token)).toBe(`/training?launch=${token}`);
    expect(withLaunchToken('/course?sort=name#top', token)).toBe(`/course?sort=name&launch=${token}#top`);
    expect(withLaunchToken('/course?sort=name', token, '&amp;')).toBe(`/course?sort=name&amp;launch=${token}`);
  });

  test('when a URL is another site, static, an LTI entry point or already carries a token, then it is left alone', () => {
    for (const url of [
      'https://lms.example/x',
      '//lms.example/x',
      '/static/app.css',
      '/lti/login?iss=x',
      '/dev/platform/',
      '/x?launch=other',
    ])
      expect(withLaunchToken(url, token)).toBe(url);
  });

  test('when a page is rendered, then same-origin links get the parameter and same-origin forms a hidden field, others nothing', () => {
    const html =
      '<a href="/profile#feedback">P</a><a href="https://lms.example/">L</a><a href="#main">S</a>' +
      '<form method="post" action="/modules/M01/attempts"><input name="_csrf"></form>' +
      '<form method="post" action="https://lms.example/return"></form>';
    expect(carryLaunchToken(html, token)).toBe(
      `<a href="/profile?launch=${token}#feedback">P</a><a href="https://lms.example/">L</a><a href="#main">S</a>` +
        `<form method="post" action="/modules/M01/attempts"><input type="hidden" name="launch" value="${token}"><input name="_csrf"></form>` +
        '<form method="post" action="https://lms.example/return"></form>',
    );
  });
});
