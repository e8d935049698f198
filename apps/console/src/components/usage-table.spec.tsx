import { describe, expect, it } from 'vitest';
import { render, texts } from '../test-render';
import { UsageTable, type MeterUsage } from './usage-table';

const meter = (slug: string, total: string | null, breakdown: MeterUsage['breakdown'] = []): MeterUsage => ({
  slug,
  name: slug,
  aggregation: 'SUM',
  total,
  breakdown,
});

describe('UsageTable', () => {
  it('lists the meters with usage, each total and its breakdown by app and environment; counts the idle ones', () => {
    const page = render(
      <UsageTable
        meters={[
          meter('forge-functions', '500000', [
            { app: 'app-1', environment: 'production', value: '250000' },
            { app: 'app-2', environment: null, value: '250000' },
          ]),
          meter('forge-logs', null),
        ]}
      />,
    );
    expect(texts(page, '[data-meter=forge-functions] [data-testid=meter-total]')).toEqual(['500,000']);
    expect(texts(page, '[data-meter=forge-functions] tr:not(.meter-total) td:first-child')).toEqual([
      'app-1 · production',
      'app-2 · —',
    ]);
    expect(page.querySelector('[data-meter=forge-logs]')).toBeNull();
    expect(page.textContent).toContain('1 more meters have no usage this period.');
  });

  it('says so when nothing was used', () => {
    expect(render(<UsageTable meters={[meter('forge-logs', null)]} />).textContent).toBe('No usage this period yet.');
  });
});
