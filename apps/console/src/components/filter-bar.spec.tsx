import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { AccountFilters } from '../account-filters';
import { render } from '../test-render';
import { FilterBar } from './filter-bar';

const choose = (select: HTMLSelectElement, value: string) =>
  act(() => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
const field = (page: HTMLElement, label: string) =>
  page.querySelector<HTMLInputElement & HTMLSelectElement>(
    `#${CSS.escape([...page.querySelectorAll('label')].find((l) => l.textContent === label)?.htmlFor ?? '')}`,
  ) as HTMLInputElement & HTMLSelectElement;

describe('FilterBar', () => {
  const meters = [
    { slug: 'forge-functions', name: 'Function compute' },
    { slug: 'forge-logs', name: 'Logs' },
  ];
  const setUp = (filters: AccountFilters) => {
    const changes: AccountFilters[] = [];
    const page = render(
      <FilterBar
        filters={filters}
        periods={['2026-12', '2026-11']}
        meters={meters}
        onChange={(f) => changes.push(f)}
      />,
    );
    return { page, changes };
  };

  it('shows the filters it is given', () => {
    const { page } = setUp({
      period: '2026-11',
      breakdownBy: 'site',
      attributes: { app: 'app-1' },
      meter: 'forge-logs',
    });
    expect(field(page, 'Billing period').value).toBe('2026-11');
    expect(field(page, 'Break down by').value).toBe('site');
    expect(field(page, 'Meter').value).toBe('forge-logs');
    expect(field(page, 'Only app').value).toBe('app-1');
  });

  it('offers a bookmarked period outside the list rather than dropping it', () => {
    const { page } = setUp({ period: '2025-01', attributes: {} });
    expect([...field(page, 'Billing period').options].map((o) => o.textContent)).toEqual([
      '2025-01',
      '2026-12 (current)',
      '2026-11',
    ]);
  });

  it('applies a choice at once; the current period is no filter', () => {
    const { page, changes } = setUp({ period: '2026-11', attributes: { app: 'app-1' } });
    choose(field(page, 'Break down by'), 'environment');
    choose(field(page, 'Billing period'), '2026-12');
    expect(changes).toEqual([
      { period: '2026-11', breakdownBy: 'environment', attributes: { app: 'app-1' } },
      { period: undefined, attributes: { app: 'app-1' } },
    ]);
  });

  it('applies attribute values on submit, leaving out the empty ones', () => {
    const { page, changes } = setUp({ attributes: { app: 'app-1' } });
    const input = field(page, 'Only site');
    act(() => {
      // React tracks the value it set: set it the way a user's typing does.
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set?.call(input, ' eu-1 ');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    act(() => page.querySelector('form')?.requestSubmit());
    expect(changes).toEqual([{ attributes: { app: 'app-1', site: 'eu-1' } }]);
  });
});
