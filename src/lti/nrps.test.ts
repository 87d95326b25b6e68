import { nextLink } from './nrps';

describe('nextLink', () => {
  test('when the Link header names a next page among others, then its URL is returned', () => {
    const header =
      '<https://lms.example/m?page=1>; rel="first", <https://lms.example/m?page=3>; rel="next", <https://lms.example/m?page=9>; rel="last"';
    expect(nextLink(header)).toBe('https://lms.example/m?page=3');
  });
  test('when rel lists several relations including next, then it is found', () => {
    expect(nextLink('<https://lms.example/m?p=2>; rel="next last"')).toBe('https://lms.example/m?p=2');
  });
  test('when there is no next relation or no header, then paging stops', () => {
    expect(nextLink('<https://lms.example/m?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});
