import { describe, expect, it } from 'vitest';
import { accountsPath, catalogPagePath, reconciliationsPagePath, routeOf } from './router';

const at = (href: string) => routeOf(new URL(href, 'http://console'));

describe('lists in the address', () => {
  it('keeps an accounts search and its page: a bookmark restores both', () => {
    const path = accountsPath({ search: 'quokka labs', limit: '2', after: 'quokka-b' });
    expect(path).toBe('/accounts?search=quokka+labs&limit=2&after=quokka-b');
    expect(at(path)).toEqual({
      screen: 'accounts',
      query: { search: 'quokka labs', limit: '2', after: 'quokka-b' },
    });
  });

  it('an accounts page without a search lists them all; blanks are no filter', () => {
    expect(accountsPath()).toBe('/accounts');
    expect(at('/accounts?search=%20&after=')).toEqual({ screen: 'accounts', query: {} });
  });

  it('is /accounts for the list and /accounts/<id> for one account', () =>
    expect(at('/accounts/vendor').screen).toBe('account'));

  it('pages the catalog’s plans and the reconciliations', () => {
    expect(at(catalogPagePath({ after: 'forge' }))).toEqual({ screen: 'catalog', query: { after: 'forge' } });
    const older = reconciliationsPagePath({ before: '0190c7a4-0000-7000-8000-000000000001' });
    expect(at(older)).toEqual({
      screen: 'reconciliation',
      query: { before: '0190c7a4-0000-7000-8000-000000000001' },
    });
    expect(at('/reconciliations/0190c7a4-0000-7000-8000-000000000001')).toEqual({
      screen: 'reconciliation',
      reconciliationId: '0190c7a4-0000-7000-8000-000000000001',
      query: {},
    });
  });
});
