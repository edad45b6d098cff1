import { describe, expect, it } from 'vitest';
import { pageNumberOf, parseLinkHeader } from './rest.js';

describe('parseLinkHeader', () => {
  it('reads GitHub Link headers by relation, commas in URLs included', () => {
    const header =
      '<https://api.github.com/repositories/1/pulls?state=open&per_page=100&page=2>; rel="next", ' +
      '<https://api.github.com/search/issues?q=a,b&page=5>; rel="last"';
    expect(parseLinkHeader(header)).toEqual({
      next: 'https://api.github.com/repositories/1/pulls?state=open&per_page=100&page=2',
      last: 'https://api.github.com/search/issues?q=a,b&page=5',
    });
  });

  it('answers nothing for no header or one without relations', () => {
    expect(parseLinkHeader(null)).toEqual({});
    expect(parseLinkHeader('<https://x.example/a>')).toEqual({});
  });

  it('takes several relations on one link', () => {
    expect(parseLinkHeader('<https://x.example/p?page=3>; rel="next last"')).toEqual({ next: 'https://x.example/p?page=3', last: 'https://x.example/p?page=3' });
  });
});

describe('pageNumberOf', () => {
  it('reads the page parameter', () => {
    expect(pageNumberOf('https://api.github.com/x?per_page=100&page=7')).toBe(7);
    expect(pageNumberOf('https://api.github.com/x')).toBeUndefined();
    expect(pageNumberOf('https://api.github.com/x?page=zero')).toBeUndefined();
  });
});
